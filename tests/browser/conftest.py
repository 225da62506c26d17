"""A real browser: Debian's chromium driven by Playwright.

The async API on a session-scoped event loop: the sync API marks its loop as
running between calls, which would break the asyncio tests that run later in
the same session. One browser per session, a fresh context (cookies, storage)
per test. Tests here run on that loop too:
``pytestmark = pytest.mark.asyncio(loop_scope="session")``.
"""

from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, async_playwright, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}

# A failure guard, not a timing claim: waits end as soon as the page is right.
expect.set_options(timeout=20_000)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Chromium, headless, launched once for the session."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser context (its own storage) that fails the test on an uncaught page error."""
    fresh = await browser.new_context(viewport=VIEWPORT)
    fresh.set_default_timeout(20_000)
    errors: list[str] = []
    fresh.on("weberror", lambda web_error: errors.append(str(web_error.error)))
    yield fresh
    await fresh.close()
    assert not errors, f"uncaught errors in the page: {errors}"

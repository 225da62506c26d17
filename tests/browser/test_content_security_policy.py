"""Parley's pages under their Content-Security-Policy, in chromium: nothing they need is blocked.

The Procfile topology runs production settings, so every page comes with the policy;
chromium reports each blocked script, style, socket or frame as a ``securitypolicyviolation``
event, collected here from the moment the document starts.
"""

import pytest
from playwright.async_api import BrowserContext, Page

from tests.browser.room_page import enter_handle, open_room, post, wait_shown

pytestmark = pytest.mark.asyncio(loop_scope="session")  # the browser's loop

# Installed before any of the page's own scripts run.
COLLECT_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


async def violations(page: Page) -> list[str]:
    """The policy violations the page reported so far."""
    return await page.evaluate("() => window.__violations")


async def test_the_room_page_works_under_its_policy(topology, context: BrowserContext):
    web = topology.webs[0]
    await context.add_init_script(COLLECT_VIOLATIONS)
    page = await context.new_page()
    response = await page.goto(f"{web.url}/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert f"ws://127.0.0.1:{web.port}" in policy

    page = await open_room(context, f"{web.url}/new/", page=page)  # the socket goes live
    await enter_handle(page, "Ada")
    await post(page, "under a policy")
    await wait_shown(page, "under a policy")

    assert await violations(page) == []


async def test_the_policy_blocks_what_it_should(topology, context: BrowserContext):
    """The check above could pass with no policy at all: show it does block."""
    web = topology.webs[0]
    await context.add_init_script(COLLECT_VIOLATIONS)
    page = await open_room(context, f"{web.url}/new/")
    ran = await page.evaluate(
        """() => new Promise((resolve) => {
          const script = document.createElement("script");
          script.textContent = "window.__inline = true;";
          document.body.appendChild(script);
          setTimeout(() => resolve(window.__inline === true), 100);
        })"""
    )

    assert ran is False, "an inline script ran"
    assert any(v.startswith("script-src") for v in await violations(page)), await violations(page)

"""Driving Parley's room page (and reading its table) the way a person uses it."""

from typing import Any

from playwright.async_api import BrowserContext, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

# Poll page state on a timer: the default (animation frames) crawls in a background tab.
POLL_MS = 50
# Every row of the chat table: its message id (absent while pending) and cell texts.
ROWS_JS = """() => [...document.querySelectorAll('#chat tbody tr')].map(tr => ({
  id: tr.dataset.id ? Number(tr.dataset.id) : null,
  pending: tr.classList.contains('pending'),
  cells: [...tr.cells].map(td => td.textContent),
}))"""
# True once ``text`` is in a stored (acknowledged or received) row.
SHOWN_JS = """text => [...document.querySelectorAll('#chat tbody tr[data-id] td.text')]
  .some(td => td.textContent === text)"""
MEMBERS_JS = """names => JSON.stringify([...document.querySelectorAll('#members li')]
  .map(li => li.textContent).sort()) === JSON.stringify(names)"""


async def open_room(
    context: BrowserContext, url: str, *, handle: str | None = None, page: Page | None = None
) -> Page:
    """Open a room page (in ``page`` if given), wait until it is live, optionally enter a name."""
    page = page or await context.new_page()
    await page.goto(url)
    await expect(page.locator("#status")).to_have_text("live")
    if handle is not None:
        await enter_handle(page, handle)
    return page


async def enter_handle(page: Page, handle: str) -> None:
    """Type a name and move on to the message field, as a person does."""
    await page.bring_to_front()  # a background tab's animation frames (and so clicks) crawl
    await page.locator("#handle").fill(handle)
    await page.locator("#message").focus()
    await expect(page.locator("#status")).to_have_text("live")


async def post(page: Page, message: str) -> None:
    """Type a message and press Send."""
    await page.bring_to_front()
    await page.locator("#message").fill(message)
    await page.get_by_role("button", name="Send").click()


async def wait_shown(page: Page, message: str) -> None:
    """Wait until ``message`` is a stored row of the page (a failure guard, not a timing)."""
    try:
        await page.wait_for_function(SHOWN_JS, arg=message, polling=POLL_MS)
    except PlaywrightTimeoutError:
        raise AssertionError(f"{message!r} not shown on {page.url}: {await rows(page)}") from None


async def rows(page: Page) -> list[dict[str, Any]]:
    """The chat table's rows, top to bottom."""
    return await page.evaluate(ROWS_JS)


async def stored(page: Page) -> list[tuple[int, str, str]]:
    """(id, handle, message) of every row; fails if any row is still pending."""
    table = await rows(page)
    assert not [row for row in table if row["pending"] or row["id"] is None], f"pending: {table}"
    return [(row["id"], row["cells"][1], row["cells"][2]) for row in table]


async def members(page: Page) -> list[str]:
    """The names in the page's presence list, sorted (presence is a set)."""
    return sorted(await page.locator("#members li").all_text_contents())


async def wait_members(page: Page, names: list[str]) -> None:
    """Wait until the presence list holds exactly ``names`` (in any order).

    The check is the wait itself: a second read could catch the list between
    a leave and a join that are still on their way (someone reloading).
    """
    try:
        await page.wait_for_function(MEMBERS_JS, arg=sorted(names), polling=POLL_MS)
    except PlaywrightTimeoutError:
        shown = await members(page)
        raise AssertionError(f"presence on {page.url}: {shown}, not {sorted(names)}") from None

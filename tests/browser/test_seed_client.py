"""The seed's own browser client (jQuery chat.js, here in plain DOM) against Parley.

The seed page is served by Playwright at ``http://<web server>/<label>/``, so
its unchanged logic (``window.location.host`` + ``"/chat" + pathname``) dials
Parley exactly as it dialed the talk's server. It never opts in: it must get
one frame, and so one table row, per chat message, and nothing else.
"""

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, Route
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.room_page import (
    POLL_MS,
    open_room,
    post,
    stored,
    wait_members,
    wait_shown,
)
from tests.support.procfile import RoleProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")  # the browser's loop

SEED_CLIENT = Path(__file__).parent / "seed_client"
SEED_TIMESTAMP_RE = re.compile(r"^[A-Z][a-z]{2} \d{1,2} \d{1,2}:\d{2} [AP]M$")
SEED_ROWS_JS = """() => [...document.querySelectorAll('#chat tbody tr')]
  .map(tr => [...tr.cells].map(td => td.textContent))"""
SEED_SHOWN_JS = """text => [...document.querySelectorAll('#chat tbody tr')]
  .some(tr => tr.cells.length === 3 && tr.cells[2].textContent === text)"""


class Frames:
    """The frames a page's WebSockets received, decoded, as Playwright saw them on the wire."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()

    def add(self, payload: str | bytes) -> None:
        """Record one received frame."""
        self.items.append(json.loads(payload))
        self._arrived.set()

    def watch(self, page: Page) -> None:
        """Record every frame the page's sockets receive from now on."""
        page.on("websocket", lambda socket: socket.on("framereceived", self.add))

    async def wait_for(self, count: int, timeout: float = 20.0) -> None:
        """Wait until ``count`` frames are in (a failure guard, not a timing)."""
        async with asyncio.timeout(timeout):
            while len(self.items) < count:
                self._arrived.clear()
                await self._arrived.wait()


async def open_seed_page(context: BrowserContext, web: RoleProcess, label: str) -> Page:
    """The seed's page at ``<web>/<label>/``, its script at ``<web>/static/chat.js``."""
    # Chromium's Local Network Access checks count a document that Playwright fulfilled
    # as public (it came from no address), so its socket to loopback needs this grant;
    # a page really loaded from the loopback server does not.
    await context.grant_permissions(["local-network-access"], origin=web.url)
    page = await context.new_page()

    async def serve(route: Route, name: str) -> None:
        await route.fulfill(path=SEED_CLIENT / name)

    await page.route(f"{web.url}/{label}/", lambda route: serve(route, "index.html"))
    await page.route(f"{web.url}/static/chat.js", lambda route: serve(route, "chat.js"))
    return page


async def seed_say(page: Page, handle: str, message: str) -> None:
    """Type into the seed page's fields and press its button."""
    await page.bring_to_front()
    await page.locator("#handle").fill(handle)
    await page.locator("#message").fill(message)
    await page.locator("#go").click()


async def seed_wait_shown(page: Page, message: str) -> None:
    """Wait until the seed page has a row for ``message`` (a failure guard, not a timing)."""
    try:
        await page.wait_for_function(SEED_SHOWN_JS, arg=message, polling=POLL_MS)
    except PlaywrightTimeoutError:
        table = await page.evaluate(SEED_ROWS_JS)
        raise AssertionError(f"{message!r} not shown on seed page {page.url}: {table}") from None


async def test_seed_client_chats_with_parley_one_row_per_message(topology, context: BrowserContext):
    web1, web2 = topology.webs
    parley_frames = Frames()
    parley = await context.new_page()
    parley_frames.watch(parley)
    # The room exists once its page was visited: the seed page is not Parley's, so first this.
    await open_room(context, f"{web2.url}/new/", handle="Pat", page=parley)
    label = parley.url.rstrip("/").rsplit("/", 1)[1]

    seeds, seed_frames = [], []
    for web in (web1, web2):
        seed = await open_seed_page(context, web, label)
        frames = Frames()
        frames.watch(seed)
        await seed.goto(f"{web.url}/{label}/")
        seeds.append(seed)
        seed_frames.append(frames)
    await wait_members(parley, ["Pat", "anonymous", "anonymous"])  # both seed sockets joined

    # Presence and acks flow in the room while the seed pages are in it.
    quinn = await open_room(context, f"{web1.url}/{label}/", handle="Quinn")
    await wait_members(parley, ["Pat", "Quinn", "anonymous", "anonymous"])
    conversation = [
        (seeds[0], "sam", "hello from the seed client"),
        (parley, "Pat", "hello from Parley"),
        (seeds[1], "kim", "<b>still</b> just text"),
    ]
    for page, handle, message in conversation:
        if page is parley:
            await post(parley, message)
        else:
            await seed_say(page, handle, message)
        await wait_everywhere([*seeds, parley, quinn], message)
    await quinn.close()
    await wait_members(parley, ["Pat", "anonymous", "anonymous"])
    await seed_say(seeds[1], "kim", "bye")
    await wait_everywhere([*seeds, parley], "bye")
    conversation.append((seeds[1], "kim", "bye"))

    expected = [(handle, message) for _, handle, message in conversation]
    seed_rows = [await seed.evaluate(SEED_ROWS_JS) for seed in seeds]
    for table in seed_rows:
        assert [tuple(cells[1:]) for cells in table] == expected  # one row per message, no other
        assert all(SEED_TIMESTAMP_RE.match(cells[0]) for cells in table), table
    assert seed_rows[0] == seed_rows[1]
    assert await seeds[1].locator("#chat b").count() == 0
    assert [entry[1:] for entry in await stored(parley)] == expected

    # On the wire: the seed sockets got only chat messages, each with the seed's three keys,
    # while the opted-in page got acks and presence too.
    for frames in seed_frames:
        await frames.wait_for(len(expected))
        assert [(f["handle"], f["message"]) for f in frames.items] == expected
        assert all(f.get("type", "message") == "message" and f["timestamp"] for f in frames.items)
    parley_types = {frame.get("type") for frame in parley_frames.items}
    assert {"welcome", "presence", "join", "leave", "ack", "message"} <= parley_types


async def wait_everywhere(pages: list[Page], message: str) -> None:
    """Wait until every page, Parley's and the seed's, shows ``message``."""
    for page in pages:
        if await page.locator("#chatform #go").count():
            await seed_wait_shown(page, message)
        else:
            await wait_shown(page, message)

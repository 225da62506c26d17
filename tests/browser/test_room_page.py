"""Parley's own room page in Debian's chromium, against the Procfile topology.

Two people on two ``web`` servers (web.1 and web.2) share a room: what one
posts shows once on both pages, a reload shows the history, HTML stays text,
presence lists both, and a page whose socket drops catches up on reconnect.
"""

import os
import re
import shutil

import pytest
from playwright.async_api import BrowserContext, expect

from app.chat.labels import ADJECTIVES, NOUNS
from tests.browser.room_page import (
    enter_handle,
    open_room,
    post,
    rows,
    stored,
    wait_members,
    wait_shown,
)
from tests.support.procfile import ARTIFACTS, ROOT, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")  # the browser's loop

# Every run leaves its screenshot in test-artifacts/ to look at; the README's
# copy is refreshed only on request: PARLEY_UPDATE_SCREENSHOTS=1 make test.
SCREENSHOT = ARTIFACTS / "room.png"
README_SCREENSHOT = ROOT / "docs" / "images" / "room.png"
LABEL_RE = re.compile(r"^([a-z]+)-([a-z]+)-(\d{4})$")
CONVERSATION = [
    ("Ada", "Morning! I made us a room. Can you see this?"),
    ("Grace", "Loud and clear. I landed on the other web server, by the way."),
    ("Ada", "Good: the Redis channel layer carries it across, no sticky sessions needed."),
    ("Grace", "And a reload shows the history straight from Postgres."),
    ("Ada", "Next up: the Locust run. Bring coffee."),
    ("Grace", "Coffee is on me. What are we aiming for?"),
    ("Ada", "15,000 deliveries a second per server, p99 under 50 ms, nothing lost."),
]
# Records the page's sockets and, while ``hold`` is set, sends new ones to a
# port nobody listens on: the page's own reconnect logic runs unchanged.
SOCKET_HOOK = """
(() => {
  const Native = window.WebSocket;
  const hook = window.__sockets = { all: [], urls: [], hold: false, deadUrl: "" };
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      hook.urls.push(String(url));
      super(hook.hold ? hook.deadUrl : url, protocols);
      hook.all.push(this);
    }
  };
})();
"""


async def test_lobby_lists_an_active_room_and_creates_a_new_one(topology, context: BrowserContext):
    web1, web2 = topology.webs
    lobby = await context.new_page()
    await lobby.goto(f"{web1.url}/")
    await lobby.get_by_role("link", name="Create a room").click()
    await lobby.wait_for_url(re.compile(r"/[a-z]+-[a-z]+-\d{4}/$"))
    label = lobby.url.rstrip("/").rsplit("/", 1)[1]
    adjective, noun, _ = LABEL_RE.match(label).groups()
    assert adjective in ADJECTIVES
    assert noun in NOUNS
    await expect(lobby.locator("#room-label")).to_have_text(label)
    await expect(lobby.locator("#status")).to_have_text("live")
    await enter_handle(lobby, "Ada")
    await post(lobby, "first!")
    await wait_shown(lobby, "first!")

    # The other server's lobby lists the room, and its link leads there with the history.
    await lobby.goto(f"{web2.url}/")
    link = lobby.locator("#active-rooms").get_by_role("link", name=label, exact=True)
    await expect(link).to_have_count(1)
    await link.click()
    await lobby.wait_for_url(f"{web2.url}/{label}/")
    assert [entry[1:] for entry in await stored(lobby)] == [("Ada", "first!")]


async def test_two_pages_on_two_servers_show_each_message_once(topology, context: BrowserContext):
    web1, web2 = topology.webs
    ada = await open_room(context, f"{web1.url}/new/", handle="Ada")
    room_url = ada.url.replace(web1.url, web2.url)
    grace = await open_room(context, room_url, handle="Grace")
    pages = {"Ada": ada, "Grace": grace}
    for page in pages.values():
        await wait_members(page, ["Ada", "Grace"])

    for handle, message in CONVERSATION:
        await post(pages[handle], message)
        for page in pages.values():
            await wait_shown(page, message)
    expected = [(n, handle, message) for n, (handle, message) in enumerate(CONVERSATION, 1)]
    for page in pages.values():
        assert await stored(page) == expected  # once each: no pending row left beside it
        assert [row["cells"][0] for row in await rows(page)] == [
            row["cells"][0] for row in await rows(ada)
        ]

    # A reload is served from history: the same rows, oldest first, on either server.
    for page in pages.values():
        await page.reload()
        await expect(page.locator("#status")).to_have_text("live")
        assert await stored(page) == expected
        await wait_members(page, ["Ada", "Grace"])

    await ada.locator("#message").fill("Sounds good!")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await ada.screenshot(path=SCREENSHOT)
    if os.environ.get("PARLEY_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(SCREENSHOT, README_SCREENSHOT)
    assert SCREENSHOT.stat().st_size > 10_000


async def test_html_in_a_message_is_shown_as_text(topology, context: BrowserContext):
    web1, web2 = topology.webs
    sender = await open_room(context, f"{web1.url}/new/", handle="<u>Eve</u>")
    reader = await open_room(context, sender.url.replace(web1.url, web2.url), handle="Bob")
    payloads = [
        "<b>bold</b><script>window.pwned=1</script>",
        '<img src=x onerror="window.pwned=2">',
    ]
    for payload in payloads:
        await post(sender, payload)
    for page in (sender, reader):
        await wait_shown(page, payloads[-1])
    await reader.reload()  # the history, rendered by the server
    await wait_shown(reader, payloads[-1])

    for page in (sender, reader):
        assert [entry[1:] for entry in await stored(page)] == [
            ("<u>Eve</u>", payload) for payload in payloads
        ]
        await wait_members(page, ["<u>Eve</u>", "Bob"])
        assert await page.locator("main b, main img, main u, main script").count() == 0
        assert await page.evaluate("typeof window.pwned") == "undefined"


async def test_a_dropped_socket_reconnects_and_catches_up_once(topology, context: BrowserContext):
    web1, web2 = topology.webs
    await context.add_init_script(SOCKET_HOOK)
    ada = await open_room(context, f"{web1.url}/new/", handle="Ada")
    grace = await open_room(context, ada.url.replace(web1.url, web2.url), handle="Grace")
    await post(ada, "before the drop")
    for page in (ada, grace):
        await wait_shown(page, "before the drop")
    [(seen_id, _, _)] = await stored(ada)

    # Ada's socket drops, and her reconnects fail while Grace talks.
    await ada.evaluate(
        "dead => { Object.assign(__sockets, {hold: true, deadUrl: dead}).all.at(-1).close(); }",
        f"ws://127.0.0.1:{free_port()}/",
    )
    await expect(ada.locator("#status")).not_to_have_text("live")
    await wait_members(grace, ["Grace"])
    await post(grace, "while Ada was away")
    await wait_shown(grace, "while Ada was away")
    assert [entry[2] for entry in await stored(ada)] == ["before the drop"]

    # Back online: the page reconnects on its own and asks for what came after its last id.
    await ada.evaluate("() => { __sockets.hold = false; }")
    await wait_shown(ada, "while Ada was away")
    await expect(ada.locator("#status")).to_have_text("live")
    assert (await ada.evaluate("__sockets.urls.at(-1)")).count(f"after={seen_id}&") == 1
    await wait_members(grace, ["Ada", "Grace"])

    await post(grace, "after the reconnect")
    for page in (ada, grace):
        await wait_shown(page, "after the reconnect")
    expected = ["before the drop", "while Ada was away", "after the reconnect"]
    for page in (ada, grace):
        entries = await stored(page)
        assert [entry[2] for entry in entries] == expected
        assert [entry[0] for entry in entries] == [seen_id, seen_id + 1, seen_id + 2]

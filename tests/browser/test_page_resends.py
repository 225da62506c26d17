"""Parley's page keeps what it sent until it is acknowledged: across a reload, and past retry_after.

The worker is paused (SIGSTOP) so that nothing is acknowledged while the page
reloads: the unacknowledged message must come back from sessionStorage, be
sent again, and be stored once. A low rate limit makes the server answer
``rate_limited`` with ``retry_after``: the page must send those messages again
later, in the order typed.
"""

import os
import signal

import pytest
from playwright.async_api import BrowserContext, expect

from tests.browser.room_page import open_room, post, rows, stored, wait_shown
from tests.support.checks import room_rows

pytestmark = pytest.mark.asyncio(loop_scope="session")  # the browser's loop


async def test_an_unacknowledged_message_survives_a_reload_and_is_stored_once(
    make_topology, context: BrowserContext
) -> None:
    topology = make_topology(webs=1, workers=1)
    web, worker = topology.webs[0], topology.workers[0]
    page = await open_room(context, f"{web.url}/new/", handle="Ada")
    label = page.url.rstrip("/").rsplit("/", 1)[1]

    os.killpg(worker.process.pid, signal.SIGSTOP)
    try:
        await post(page, "kept across a reload")
        await expect(page.locator("#chat tr.pending")).to_have_count(1)
        await page.reload()
        await expect(page.locator("#status")).to_have_text("live")
        restored = await rows(page)
    finally:
        os.killpg(worker.process.pid, signal.SIGCONT)
    await wait_shown(page, "kept across a reload")

    assert [(r["pending"], r["cells"][2]) for r in restored] == [(True, "kept across a reload")]
    assert [entry[2] for entry in await stored(page)] == ["kept across a reload"]
    assert [row.message for row in room_rows(topology, label)] == ["kept across a reload"]
    assert await page.evaluate("sessionStorage.length") == 1  # the key, holding nothing now
    assert await page.evaluate(f"sessionStorage.getItem('parley.pending.{label}')") == "[]"


async def test_messages_refused_for_the_rate_limit_are_sent_again_in_order(
    make_topology, context: BrowserContext
) -> None:
    topology = make_topology(webs=1, workers=1, PARLEY_RATE_PER_SECOND="0.2", PARLEY_RATE_BURST="3")
    web = topology.webs[0]
    page = await open_room(context, f"{web.url}/new/", handle="Ada")
    label = page.url.rstrip("/").rsplit("/", 1)[1]
    texts = [f"message {n}" for n in range(5)]

    for text in texts:  # far faster than one per 5 s: the last two are refused at first
        await post(page, text)
    await expect(page.locator("#error")).to_contain_text("Too many frames")
    for text in texts:
        await wait_shown(page, text)

    assert [entry[2] for entry in await stored(page)] == texts
    assert [row.message for row in room_rows(topology, label)] == texts

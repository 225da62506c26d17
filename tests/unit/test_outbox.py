"""A sender's outbox: FIFO, one message awaiting its ack, resent until acked."""

import asyncio

import pytest

from app.chat.exceptions import OutboxFull
from app.chat.messages import ChatMessage
from app.chat.outbox import Outbox
from app.chat.retry import Backoff

SAFETY_TIMEOUT = 10.0  # only bounds a hang; nothing is asserted about time


def every(seconds: float) -> Backoff:
    """Resends at a fixed interval."""
    return Backoff(first=seconds, maximum=seconds, factor=1.0)


def draft(client_id: str) -> ChatMessage:
    return ChatMessage(label="room", handle="ada", message=f"text {client_id}", client_id=client_id)


class Recorder:
    """The outbox's ``send``: records each draft and lets a test await the n-th send."""

    def __init__(self, *, fail_on: frozenset[int] = frozenset()) -> None:
        self.sent: list[ChatMessage] = []
        self.fail_on = fail_on
        self._changed = asyncio.Condition()

    async def __call__(self, item: ChatMessage) -> None:
        async with self._changed:
            self.sent.append(item)
            self._changed.notify_all()
        if len(self.sent) in self.fail_on:
            raise ConnectionError("the channel layer is down")

    @property
    def ids(self) -> list[str | None]:
        return [item.client_id for item in self.sent]

    async def wait_for(self, count: int) -> None:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.sent) >= count), SAFETY_TIMEOUT
            )


async def new_tasks_after(action) -> set[asyncio.Task]:
    """Run ``action`` and return the tasks it started (the outbox's resender)."""
    before = asyncio.all_tasks()
    await action()
    return asyncio.all_tasks() - before


async def test_the_first_message_is_sent_at_once() -> None:
    send = Recorder()
    outbox = Outbox(send, resends=every(60))

    await outbox.put(draft("a"))

    assert send.ids == ["a"]
    assert len(outbox) == 1
    outbox.close()


async def test_only_one_message_is_in_flight_until_it_is_acked() -> None:
    send = Recorder()
    outbox = Outbox(send, resends=every(60))

    for client_id in "abc":
        await outbox.put(draft(client_id))

    assert send.ids == ["a"]
    assert len(outbox) == 3
    outbox.close()


async def test_acks_release_the_queue_in_fifo_order() -> None:
    send = Recorder()
    outbox = Outbox(send, resends=every(60))
    for client_id in "abcd":
        await outbox.put(draft(client_id))

    for acked, expected in zip("abc", "bcd", strict=True):
        await outbox.acked(acked)
        assert send.ids[-1] == expected

    await outbox.acked("d")
    assert send.ids == ["a", "b", "c", "d"]
    assert len(outbox) == 0
    outbox.close()


async def test_an_ack_for_another_id_is_ignored() -> None:
    send = Recorder()
    outbox = Outbox(send, resends=every(60))
    await outbox.put(draft("a"))
    await outbox.put(draft("b"))

    await outbox.acked("b")  # not the one in flight
    await outbox.acked(None)
    await outbox.acked("zzz")

    assert send.ids == ["a"]
    assert len(outbox) == 2
    outbox.close()


async def test_a_late_ack_of_an_earlier_message_is_ignored() -> None:
    send = Recorder()
    outbox = Outbox(send, resends=every(60))
    for client_id in "abc":
        await outbox.put(draft(client_id))
    await outbox.acked("a")

    await outbox.acked("a")  # the ack of a resend of "a", arriving after "b" went out

    assert send.ids == ["a", "b"]
    assert len(outbox) == 2
    outbox.close()


async def test_an_ack_with_nothing_in_flight_is_ignored() -> None:
    send = Recorder()
    outbox = Outbox(send, resends=every(60))

    await outbox.acked("a")

    assert send.sent == []
    assert len(outbox) == 0


async def test_an_unacked_message_is_sent_again_and_the_queue_waits() -> None:
    send = Recorder()
    outbox = Outbox(send, resends=every(0.05))
    await outbox.put(draft("a"))
    await outbox.put(draft("b"))

    await send.wait_for(3)

    assert send.ids[:3] == ["a", "a", "a"]
    assert send.sent[1] is send.sent[0]
    await outbox.acked("a")
    assert send.ids[-1] == "b"
    outbox.close()


async def test_a_failed_resend_does_not_stop_resending() -> None:
    send = Recorder(fail_on=frozenset({2}))
    outbox = Outbox(send, resends=every(0.05))
    await outbox.put(draft("a"))

    await send.wait_for(3)

    assert send.ids[:3] == ["a", "a", "a"]
    outbox.close()


async def test_an_ack_stops_the_resends() -> None:
    send = Recorder()
    outbox = Outbox(send, resends=every(0.05))
    resenders = await new_tasks_after(lambda: outbox.put(draft("a")))
    assert len(resenders) == 1

    await outbox.acked("a")

    (resender,) = resenders
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(resender, SAFETY_TIMEOUT)
    assert len(outbox) == 0


async def test_close_stops_the_resends_and_drops_the_queue() -> None:
    send = Recorder()
    outbox = Outbox(send, resends=every(0.05))
    resenders = await new_tasks_after(lambda: outbox.put(draft("a")))
    await outbox.put(draft("b"))
    await send.wait_for(2)  # it was resending

    outbox.close()

    (resender,) = resenders
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(resender, SAFETY_TIMEOUT)
    sent = list(send.ids)
    await outbox.acked("a")  # nothing queued is sent any more
    assert send.ids == sent
    assert "b" not in send.ids


async def test_put_past_the_limit_raises_outbox_full() -> None:
    send = Recorder()
    outbox = Outbox(send, limit=3, resends=every(60))
    for client_id in "abc":
        await outbox.put(draft(client_id))

    with pytest.raises(OutboxFull) as caught:
        await outbox.put(draft("d"))

    assert caught.value.code == "overloaded"
    assert "3" in caught.value.detail
    assert len(outbox) == 3
    assert send.ids == ["a"]
    outbox.close()


async def test_the_limit_counts_the_message_in_flight_and_frees_on_ack() -> None:
    send = Recorder()
    outbox = Outbox(send, limit=2, resends=every(60))
    await outbox.put(draft("a"))
    await outbox.put(draft("b"))
    with pytest.raises(OutboxFull):
        await outbox.put(draft("c"))

    await outbox.acked("a")
    await outbox.put(draft("c"))

    assert len(outbox) == 2
    await outbox.acked("b")
    assert send.ids == ["a", "b", "c"]
    outbox.close()


async def test_drain_returns_every_unacked_message_in_the_order_sent() -> None:
    send = Recorder()
    outbox = Outbox(send, resends=every(60))
    for client_id in "abcd":
        await outbox.put(draft(client_id))
    await outbox.acked("a")

    unsent = outbox.drain()

    assert [item.client_id for item in unsent] == ["b", "c", "d"]
    assert len(outbox) == 0
    assert outbox.drain() == []


async def test_drain_stops_the_resends() -> None:
    send = Recorder()
    outbox = Outbox(send, resends=every(0.05))
    resenders = await new_tasks_after(lambda: outbox.put(draft("a")))

    assert [item.client_id for item in outbox.drain()] == ["a"]

    (resender,) = resenders
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(resender, SAFETY_TIMEOUT)

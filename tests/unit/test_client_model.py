"""The client model shared by the fault tests and the Locust users: no sockets, no clock.

Frames go in as the server would send them (docs/protocol.md), and what the
model hands back to write, or to wait, is checked.
"""

import json

import pytest

from loadtest.client_model import Backoff, ClientModel


def fixed(value: float):
    """A ``rand`` that always answers ``value``."""
    return lambda: value


def frame(**fields) -> str:
    return json.dumps(fields)


def message(seq: int, client_id: str | None = None) -> str:
    """A chat message the server broadcast, as members receive it."""
    return frame(type="message", id=seq, client_id=client_id, handle="x", message=f"m{seq}")


def ack(client_id: str, seq: int, duplicate: bool = False) -> str:
    return frame(type="ack", client_id=client_id, id=seq, duplicate=duplicate)


def sent_ids(frames: list[str]) -> list[str]:
    return [json.loads(text)["client_id"] for text in frames]


def connected(**kwargs) -> ClientModel:
    model = ClientModel("ada", **kwargs)
    model.opened()
    return model


# Sending, settling, resending ----------------------------------------------------


def test_an_opted_in_message_carries_its_client_id_and_is_written_once() -> None:
    model = connected()
    model.message("hello", "c-1")

    (written,) = model.to_send(0)

    assert json.loads(written) == {
        "type": "message",
        "client_id": "c-1",
        "handle": "ada",
        "message": "hello",
    }
    assert model.to_send(0) == []  # already on this connection
    assert model.pending == ["c-1"]


def test_nothing_is_written_while_disconnected_and_everything_after_the_connect() -> None:
    model = ClientModel("ada")
    model.message("one", "c-1")
    model.message("two", "c-2")

    assert model.to_send(0) == []
    model.opened()
    assert sent_ids(model.to_send(0)) == ["c-1", "c-2"]


def test_an_ack_settles_its_message_and_records_its_id() -> None:
    model = connected()
    model.message("one", "c-1")
    model.message("two", "c-2")
    model.to_send(0)

    received = model.receive(ack("c-1", 7), now=0)

    assert received.kind == "ack"
    assert received.settled == "c-1"
    assert model.pending == ["c-2"]
    assert model.acked == {"c-1": 7}


def test_our_own_broadcast_settles_our_message_as_an_ack_does() -> None:
    model = connected(after=0)
    model.message("one", "c-1")

    received = model.receive(message(1, "c-1"), now=0)

    assert received.settled == "c-1"
    assert model.pending == []
    assert model.acked == {"c-1": 1}
    assert model.receive(message(2, "someone-else"), now=0).settled is None


def test_after_a_reconnect_every_unsettled_message_is_written_again_in_order() -> None:
    model = connected()
    for n in range(4):
        model.message(f"m{n}", f"c-{n}")
    model.to_send(0)
    model.receive(ack("c-1", 1), now=0)
    model.closed(1006)

    model.opened()
    model.message("m4", "c-4")

    assert sent_ids(model.to_send(0)) == ["c-0", "c-2", "c-3", "c-4"]
    assert model.counts["reconnects"] == 1


def test_a_duplicate_ack_settles_and_is_counted() -> None:
    model = connected()
    model.message("one", "c-1")

    model.receive(ack("c-1", 3, duplicate=True), now=0)

    assert model.pending == []
    assert model.counts["duplicate_acks"] == 1


def test_rate_limited_messages_are_all_resent_after_retry_after_with_jitter() -> None:
    model = connected(rand=fixed(1.0))  # jitter at its largest: 1.5 x retry_after
    model.message("one", "c-1")
    model.message("two", "c-2")
    model.to_send(0)

    error = frame(type="error", code="rate_limited", retry_after=2.0, client_id="c-2")
    model.receive(error, now=10.0)

    assert model.resend_at == 13.0
    assert model.to_send(12.9) == []
    assert sent_ids(model.to_send(13.0)) == ["c-1", "c-2"]
    assert model.to_send(14.0) == []


def test_a_message_refused_for_good_is_dropped_and_never_resent() -> None:
    model = connected()
    model.message("x" * 5000, "c-1")
    model.to_send(0)

    model.receive(frame(type="error", code="too_long", client_id="c-1"), now=0)
    model.closed(1006)
    model.opened()

    assert model.to_send(0) == []
    assert model.refused == {"c-1": "too_long"}


def test_a_plain_client_sends_the_seeds_frame_and_keeps_nothing() -> None:
    model = connected(opted_in=False)
    model.message("hi", "k-1")

    (written,) = model.to_send(0)
    model.closed(1006)
    model.opened()

    assert json.loads(written) == {"handle": "ada", "message": "hi"}
    assert model.to_send(0) == []  # resending without a client id would store it twice
    assert model.query() == {}


# The cursor and the room's sequence ------------------------------------------------


def test_the_query_asks_for_catch_up_after_the_last_id_seen() -> None:
    model = connected()
    assert model.query() == {"handle": "ada"}  # live messages only until one is seen

    model.receive(message(41), now=0)

    assert model.query() == {"handle": "ada", "after": "41"}


def test_a_repeated_id_is_dropped_and_counted() -> None:
    model = connected(after=0)
    model.receive(message(1), now=0)
    model.receive(message(2), now=0)

    repeat = model.receive(message(2), now=0)

    assert not repeat.new
    assert model.last_id == 2
    assert model.counts["repeats"] == 1


def test_a_skipped_id_is_a_gap_even_across_a_reconnect() -> None:
    model = connected(after=0)
    model.receive(message(1), now=0)
    model.closed(1006)
    model.opened()  # with ?after=1: the next must be 2

    skipped = model.receive(message(4), now=0)

    assert skipped.gap == 2
    assert model.counts["gaps"] == 1


def test_without_a_cursor_the_first_message_is_no_gap() -> None:
    model = connected()

    assert model.receive(message(40), now=0).gap == 0
    assert model.receive(message(41), now=0).gap == 0


def test_a_truncated_catch_up_moves_the_cursor_past_what_it_skipped() -> None:
    model = connected(after=2)

    model.receive(frame(type="truncated", after=2, resumes_after=507), now=0)

    assert model.receive(message(508), now=0).gap == 0


def test_frames_that_are_not_json_objects_are_named_invalid() -> None:
    model = connected()

    assert model.receive("[1, 2]", now=0).kind == "invalid"
    assert model.receive(b"not json", now=0).kind == "invalid"
    assert model.counts["invalid"] == 2


# Reconnecting --------------------------------------------------------------------


def test_backoff_doubles_up_to_its_cap_with_jitter_between_half_and_all() -> None:
    low, high = Backoff(0.5, 4.0, rand=fixed(0.0)), Backoff(0.5, 4.0, rand=fixed(0.999))

    lows = [low.next_delay() for _ in range(6)]
    highs = [high.next_delay() for _ in range(6)]

    assert lows == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert highs == pytest.approx([0.5, 1.0, 2.0, 4.0, 4.0, 4.0], rel=1e-3)


def test_the_backoff_starts_over_once_the_server_welcomes_us() -> None:
    model = ClientModel("ada", rand=fixed(0.0))
    first = model.connect_failed()
    second = model.connect_failed()
    model.opened()

    model.receive(frame(type="welcome", room="r", connection="x", last_id=0), now=0)

    assert (first, second) == (0.25, 0.5)
    assert model.closed(4503) == 0.25


def test_a_socket_accepted_then_closed_before_its_welcome_keeps_backing_off() -> None:
    model = ClientModel("ada", rand=fixed(0.0))
    delays = []
    for _ in range(3):  # a stopping server: accepted, then closed with going_away
        model.opened()
        delays.append(model.closed(4503))

    assert delays == [0.25, 0.5, 1.0]


def test_a_room_that_does_not_exist_is_not_retried() -> None:
    model = connected()

    assert model.closed(4404) is None

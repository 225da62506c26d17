"""Writes against real Postgres: rooms, and messages numbered gaplessly per room."""

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from django.db import connection

from app.chat import services
from app.chat.labels import is_valid_label
from app.chat.messages import ChatMessage
from app.chat.models import Message, Room
from app.chat.services import messages_store, room_create_random, room_get_or_create


def draft(label: str, text: str = "hi", *, client_id: str | None = None) -> ChatMessage:
    return ChatMessage(label=label, handle="ada", message=text, client_id=client_id)


def unstored(item: ChatMessage) -> ChatMessage:
    """The message as it was before storing gave it a number and a time."""
    return replace(item, seq=None, timestamp=None)


def seqs(stored: list[ChatMessage]) -> list[int]:
    return [item.seq for item in stored]


def room_rows(label: str) -> list[tuple[int, str, str | None]]:
    rows = Message.objects.filter(room__label=label).order_by("seq")
    return list(rows.values_list("seq", "message", "client_id"))


# ------------------------------------------------------------------ rooms
@pytest.mark.django_db
def test_room_get_or_create_creates_once() -> None:
    first = room_get_or_create(label="lobby-1")
    second = room_get_or_create(label="lobby-1")

    assert first.pk == second.pk
    assert Room.objects.filter(label="lobby-1").count() == 1
    assert first.last_seq == 0


@pytest.mark.django_db
def test_room_create_random_makes_a_readable_valid_label() -> None:
    rooms = [room_create_random() for _ in range(5)]

    for room in rooms:
        assert re.fullmatch(r"[a-z]+-[a-z]+-\d{4}", room.label)
        assert is_valid_label(room.label)
        assert Room.objects.filter(pk=room.pk, label=room.label).exists()
    assert len({room.label for room in rooms}) == 5


@pytest.mark.django_db
def test_room_create_random_skips_labels_already_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = Room.objects.create(label="misty-river-0001")
    labels = iter(["misty-river-0001", "misty-river-0001", "quiet-moon-0002"])
    monkeypatch.setattr(services, "random_label", lambda: next(labels))

    room = room_create_random()

    assert room.label == "quiet-moon-0002"
    assert room.pk != taken.pk


@pytest.mark.django_db
def test_room_create_random_gives_up_when_every_label_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Room.objects.create(label="misty-river-0001")
    monkeypatch.setattr(services, "random_label", lambda: "misty-river-0001")

    with pytest.raises(RuntimeError, match="3 attempts"):
        room_create_random(attempts=3)
    assert Room.objects.count() == 1


# ------------------------------------------------------------------ numbering
@pytest.mark.django_db
def test_a_batch_is_numbered_from_one_in_order() -> None:
    room_get_or_create(label="r")
    batch = [draft("r", f"m{n}") for n in range(1, 4)]

    stored = messages_store(drafts=batch)

    assert seqs(stored) == [1, 2, 3]
    assert [unstored(item) for item in stored] == batch
    assert not any(item.duplicate for item in stored)
    assert room_rows("r") == [(1, "m1", None), (2, "m2", None), (3, "m3", None)]
    assert Room.objects.get(label="r").last_seq == 3


@pytest.mark.django_db
def test_numbering_continues_from_the_rooms_last_seq() -> None:
    Room.objects.create(label="r", last_seq=41)

    first = messages_store(drafts=[draft("r", "a"), draft("r", "b")])
    second = messages_store(drafts=[draft("r", "c")])

    assert seqs(first) == [42, 43]
    assert seqs(second) == [44]
    assert Room.objects.get(label="r").last_seq == 44


@pytest.mark.django_db
def test_each_room_in_a_batch_is_numbered_on_its_own() -> None:
    room_get_or_create(label="a")
    room_get_or_create(label="b")
    messages_store(drafts=[draft("b", "b-old")])
    batch = [
        draft("a", "a1"),
        draft("b", "b2"),
        draft("a", "a2"),
        draft("b", "b3"),
        draft("a", "a3"),
    ]

    stored = messages_store(drafts=batch)

    assert len(stored) == len(batch)
    by_text = {item.message: item.seq for item in stored}
    assert by_text == {"a1": 1, "a2": 2, "a3": 3, "b2": 2, "b3": 3}
    assert [seq for seq, *_ in room_rows("a")] == [1, 2, 3]
    assert [text for _, text, _ in room_rows("b")] == ["b-old", "b2", "b3"]


@pytest.mark.django_db
def test_a_stored_message_carries_its_commit_time() -> None:
    room_get_or_create(label="r")

    (stored,) = messages_store(drafts=[draft("r")])

    row = Message.objects.get(room__label="r", seq=stored.seq)
    assert row.timestamp == stored.timestamp
    assert Room.objects.get(label="r").last_message_at == stored.timestamp


@pytest.mark.django_db
def test_an_empty_batch_stores_nothing() -> None:
    assert messages_store(drafts=[]) == []
    assert Message.objects.count() == 0


# ------------------------------------------------------------------ idempotency
@pytest.mark.django_db
def test_a_repeated_client_id_within_a_batch_is_stored_once() -> None:
    room_get_or_create(label="r")
    batch = [draft("r", "first", client_id="c1"), draft("r", "resend", client_id="c1")]

    stored = messages_store(drafts=batch)

    assert [(item.seq, item.duplicate) for item in stored] == [(1, False), (1, True)]
    assert stored[1].timestamp == stored[0].timestamp
    assert room_rows("r") == [(1, "first", "c1")]
    assert Room.objects.get(label="r").last_seq == 1


@pytest.mark.django_db
def test_a_repeated_client_id_in_a_later_batch_is_answered_with_the_original() -> None:
    room_get_or_create(label="r")
    (original,) = messages_store(drafts=[draft("r", "first", client_id="c1")])
    messages_store(drafts=[draft("r", "other", client_id="c2")])

    stored = messages_store(drafts=[draft("r", "again", client_id="c1"), draft("r", "new")])

    assert [(item.seq, item.duplicate) for item in stored] == [(1, True), (3, False)]
    assert stored[0].timestamp == original.timestamp
    assert room_rows("r") == [(1, "first", "c1"), (2, "other", "c2"), (3, "new", None)]


@pytest.mark.django_db
def test_the_same_client_id_in_two_rooms_is_two_messages() -> None:
    room_get_or_create(label="a")
    room_get_or_create(label="b")

    stored = messages_store(drafts=[draft("a", client_id="c1"), draft("b", client_id="c1")])

    assert [(item.label, item.seq, item.duplicate) for item in stored] == [
        ("a", 1, False),
        ("b", 1, False),
    ]


@pytest.mark.django_db
def test_messages_without_client_id_are_never_merged() -> None:
    room_get_or_create(label="r")

    stored = messages_store(drafts=[draft("r", "same"), draft("r", "same")])

    assert seqs(stored) == [1, 2]
    assert Message.objects.filter(room__label="r").count() == 2


# ------------------------------------------------------------------ unknown rooms, text
@pytest.mark.django_db
def test_drafts_for_an_unknown_room_are_dropped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    room_get_or_create(label="real")

    with caplog.at_level(logging.WARNING, logger="app.chat.services"):
        stored = messages_store(drafts=[draft("ghost"), draft("real"), draft("ghost")])

    assert [(item.label, item.seq) for item in stored] == [("real", 1)]
    assert not Room.objects.filter(label="ghost").exists()
    assert Message.objects.count() == 1
    assert "'ghost'" in caplog.text
    assert "2 message(s)" in caplog.text


TEXTS = [
    "emoji 😀👍🏽 and ZWJ 👩‍👩‍👧",
    "line one\nline two\r\n\ttabbed",
    "<script>alert('x')</script> & <b>bold</b> &amp;",
    "quotes \" ' ` and backslash \\ and %s %(x)s {x}",
    "  leading and trailing spaces  ",
    "日本語のテキスト",
]


@pytest.mark.django_db
@pytest.mark.parametrize("text", TEXTS)
def test_text_is_stored_exactly_as_sent(text: str) -> None:
    room_get_or_create(label="r")

    messages_store(drafts=[ChatMessage(label="r", handle=f"h {text[:5]}", message=text)])

    row = Message.objects.get(room__label="r")
    assert row.message == text
    assert row.handle == f"h {text[:5]}"


# ------------------------------------------------------------------ concurrency
def in_own_connection(function):
    """Run ``function`` on a worker thread's own database connection, then close it."""

    def run(*args):
        try:
            return function(*args)
        finally:
            connection.close()

    return run


def store_batches(label_lists: list[list[str]], start: threading.Barrier) -> list[ChatMessage]:
    """Store one batch per list of labels, as a worker would, after the other thread is ready."""
    start.wait(timeout=30)
    stored: list[ChatMessage] = []
    for number, labels in enumerate(label_lists):
        name = threading.current_thread().name
        batch = [draft(label, f"{name}:{number}:{i}") for i, label in enumerate(labels)]
        stored += messages_store(drafts=batch)
    return stored


def run_in_two_threads(first: list[list[str]], second: list[list[str]]) -> list[ChatMessage]:
    start = threading.Barrier(2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(in_own_connection(store_batches), work, start) for work in (first, second)
        ]
        return [item for future in futures for item in future.result(timeout=60)]


@pytest.mark.django_db(transaction=True)
def test_two_workers_storing_one_room_at_once_number_it_gaplessly() -> None:
    room_get_or_create(label="busy")
    work = [["busy"] * 5 for _ in range(30)]

    stored = run_in_two_threads(work, work)

    assert sorted(seqs(stored)) == list(range(1, 301))
    assert [seq for seq, *_ in room_rows("busy")] == list(range(1, 301))
    assert Room.objects.get(label="busy").last_seq == 300
    texts = {text: seq for seq, text, _ in room_rows("busy")}
    assert {item.message: item.seq for item in stored} == texts


@pytest.mark.django_db(transaction=True)
def test_a_workers_batches_keep_their_order_under_contention() -> None:
    room_get_or_create(label="busy")
    work = [["busy"] * 3 for _ in range(20)]

    stored = run_in_two_threads(work, work)

    for thread in {item.message.split(":")[0] for item in stored}:
        mine = [item.seq for item in stored if item.message.startswith(f"{thread}:")]
        assert mine == sorted(mine)
        assert len(mine) == 60


@pytest.mark.django_db(transaction=True)
def test_batches_locking_two_rooms_in_opposite_orders_do_not_deadlock() -> None:
    room_get_or_create(label="left")
    room_get_or_create(label="right")

    stored = run_in_two_threads(
        [["left", "right"] * 3 for _ in range(25)],
        [["right", "left"] * 3 for _ in range(25)],
    )

    for label in ("left", "right"):
        numbers = sorted(item.seq for item in stored if item.label == label)
        assert numbers == list(range(1, 151))
        assert [seq for seq, *_ in room_rows(label)] == numbers


@pytest.mark.django_db(transaction=True)
def test_one_client_id_stored_by_two_workers_at_once_is_one_message() -> None:
    room_get_or_create(label="r")
    start = threading.Barrier(2)

    def store() -> ChatMessage:
        start.wait(timeout=30)
        (item,) = messages_store(drafts=[draft("r", "once", client_id="c1")])
        return item

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(in_own_connection(store)) for _ in range(2)]
        results = [future.result(timeout=60) for future in futures]

    assert sorted(item.duplicate for item in results) == [False, True]
    assert {item.seq for item in results} == {1}
    assert room_rows("r") == [(1, "once", "c1")]

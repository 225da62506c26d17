"""Writes: creating rooms and storing messages with their room sequence numbers."""

import logging
from collections import defaultdict
from dataclasses import replace
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from app.chat.labels import random_label
from app.chat.messages import ChatMessage
from app.chat.models import Message, Room

logger = logging.getLogger(__name__)


def room_get_or_create(*, label: str) -> Room:
    """Return the room labelled ``label``, creating it on first use."""
    try:
        room, _ = Room.objects.get_or_create(label=label)
    except IntegrityError:  # created by a concurrent request in between
        room = Room.objects.get(label=label)
    return room


def room_create_random(*, attempts: int = 20) -> Room:
    """Create a room with a readable random label not yet taken."""
    for _ in range(attempts):
        label = random_label()
        room, created = Room.objects.get_or_create(label=label)
        if created:
            return room
    raise RuntimeError(f"No free random label after {attempts} attempts.")


def messages_store(*, drafts: list[ChatMessage]) -> list[ChatMessage]:
    """Store a batch of messages in one transaction, numbering each room's in order.

    Returns each message as stored (``seq`` and ``timestamp`` set). Rooms are
    locked in id order so concurrent workers never deadlock; a message whose
    ``client_id`` is already stored in its room is not stored again but
    answered as a ``duplicate`` with the earlier number and time. Messages for
    unknown rooms are dropped (and logged).
    """
    by_label: dict[str, list[ChatMessage]] = defaultdict(list)
    for draft in drafts:
        by_label[draft.label].append(draft)
    now = timezone.now()
    stored: list[ChatMessage] = []
    with transaction.atomic():
        rooms = Room.objects.select_for_update().filter(label__in=by_label).order_by("id")
        for room in rooms:
            stored.extend(_store_in_room(room, by_label.pop(room.label), now))
    for label, lost in by_label.items():
        logger.warning("Dropped %d message(s) for unknown room %r", len(lost), label)
    return stored


def _store_in_room(room: Room, drafts: list[ChatMessage], now: datetime) -> list[ChatMessage]:
    known = _stored_by_client_id(room, drafts)
    results: list[ChatMessage] = []
    rows: list[Message] = []
    for draft in drafts:
        first = known.get(draft.client_id) if draft.client_id is not None else None
        if first is not None:  # a resend: answer with the stored copy, acked to the resender
            results.append(
                replace(first, reply_channel=draft.reply_channel, received_at=draft.received_at)
            )
            continue
        room.last_seq += 1
        rows.append(_message_row(room, draft, now))
        results.append(draft.stored_as(room.last_seq, now))
        if draft.client_id is not None:
            known[draft.client_id] = draft.stored_as(room.last_seq, now, duplicate=True)
    if rows:  # a batch of resends alone changes nothing, not even the room's activity
        Message.objects.bulk_create(rows)
        Room.objects.filter(pk=room.pk).update(last_seq=room.last_seq, last_message_at=now)
    return results


def _stored_by_client_id(room: Room, drafts: list[ChatMessage]) -> dict[str, ChatMessage]:
    """The stored copies (as duplicates) of the drafts' client ids already in the room."""
    client_ids = {draft.client_id for draft in drafts if draft.client_id is not None}
    if not client_ids:
        return {}
    rows = Message.objects.filter(room=room, client_id__in=client_ids)
    return {row.client_id: replace(row.as_chat_message(room.label), duplicate=True) for row in rows}


def _message_row(room: Room, draft: ChatMessage, now: datetime) -> Message:
    return Message(
        room=room,
        seq=room.last_seq,
        handle=draft.handle,
        message=draft.message,
        client_id=draft.client_id,
        timestamp=now,
    )

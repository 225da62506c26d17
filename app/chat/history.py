"""A room's stored messages as the event loop reads them: selectors off the loop, as messages."""

from channels.db import database_sync_to_async

from app.chat import selectors
from app.chat.labels import is_valid_label
from app.chat.messages import ChatMessage
from app.chat.models import Message

# What a row holds of a message; its room is known by label to whoever reads it.
ROW_FIELDS = ("seq", "handle", "message", "client_id", "timestamp")


def message_from_row(label: str, row: Message) -> ChatMessage:
    """The stored message a history row holds."""
    return ChatMessage(label=label, **{name: getattr(row, name) for name in ROW_FIELDS})


class RoomHistory:
    """Reads the hub and the consumer need, each run in a thread with its own connection."""

    async def last_seq(self, label: str) -> int | None:
        """The room's last sequence number, or None when no valid room has that label."""
        if not is_valid_label(label):
            return None
        return await database_sync_to_async(selectors.room_last_seq)(label=label)

    async def messages_after(
        self, label: str, *, after: int, upto: int | None, limit: int
    ) -> list[ChatMessage]:
        """The room's stored messages with ``after < seq <= upto``, oldest first."""
        rows = await database_sync_to_async(selectors.room_messages_after)(
            label=label, after=after, upto=upto, limit=limit
        )
        return [message_from_row(label, row) for row in rows]

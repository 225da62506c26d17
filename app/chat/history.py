"""A room's stored messages as the event loop reads them: selectors off the loop, as messages."""

from channels.db import database_sync_to_async

from app.chat import selectors
from app.chat.labels import is_valid_label
from app.chat.messages import ChatMessage


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
        return [row.as_chat_message(label) for row in rows]

"""Rooms and their messages. A message's ``seq`` orders its room's history."""

from django.db import models
from django.utils import timezone

from app.chat.labels import LABEL_MAX_LENGTH
from app.chat.messages import ChatMessage

# What a row holds of a message; its room is known by label to whoever reads it.
ROW_FIELDS = ("seq", "handle", "message", "client_id", "timestamp")


class Room(models.Model):
    """A chat room, addressed by its slug ``label``."""

    label = models.SlugField(max_length=LABEL_MAX_LENGTH, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The last sequence number given in this room; advanced in the insert's transaction.
    last_seq = models.BigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return self.label


class Message(models.Model):
    """One chat message, stored as sent."""

    room = models.ForeignKey(Room, related_name="messages", on_delete=models.CASCADE)
    seq = models.BigIntegerField()
    handle = models.TextField()
    message = models.TextField()
    client_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    timestamp = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["room", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="message_room_seq_unique"),
            models.UniqueConstraint(
                fields=["room", "client_id"],
                condition=models.Q(client_id__isnull=False),
                name="message_room_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.room_id}#{self.seq} {self.handle}: {self.message[:40]}"

    def as_chat_message(self, label: str) -> ChatMessage:
        """This stored message, in room ``label``, as the rest of Parley handles it."""
        return ChatMessage(label=label, **{name: getattr(self, name) for name in ROW_FIELDS})

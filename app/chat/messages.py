"""The one shape a chat message takes inside Parley, from a client's frame to its row.

A message is parsed from a client's frame (``protocol.parse_frame``), queued
by the sender's outbox, carried to a worker and stored; storing gives it its
room sequence number and time; it comes back out of history the same way.
Conversions to and from the wire and the database happen at those edges only:
``protocol`` (frames), ``events`` (the channel layer), ``services`` and
``history`` (the database).
"""

from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A valid chat message; ``seq`` and ``timestamp`` are set once it is stored."""

    label: str
    handle: str
    message: str
    client_id: str | None = None
    # Where the sender's ack goes; None when nobody waits for one.
    reply_channel: str | None = None
    # When an interface server received it (epoch seconds), for the persist latency.
    received_at: float = 0.0
    seq: int | None = None
    timestamp: datetime | None = None
    # Stored earlier under the same client_id: seq and timestamp are the first copy's.
    duplicate: bool = False

    def stored_as(self, seq: int, timestamp: datetime, *, duplicate: bool = False) -> "ChatMessage":
        """This message as stored: numbered ``seq`` in its room at ``timestamp``."""
        return replace(self, seq=seq, timestamp=timestamp, duplicate=duplicate)

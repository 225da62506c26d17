"""The chat WebSocket: thin over frames (parsing), the worker (storing) and the hub (delivery)."""

import logging
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from app.chat import protocol, selectors
from app.chat.exceptions import (
    ChatError,
    FrameTooLarge,
    InvalidFrame,
    OutboxFull,
    RateLimited,
    RoomNotFound,
)
from app.chat.frames import ChatFrame, Limits, parse_frame, parse_handle
from app.chat.hub import get_hub
from app.chat.labels import is_valid_label
from app.chat.outbox import Outbox
from app.chat.presence import MemberInfo
from app.chat.ratelimit import TokenBucket
from app.chat.services import MessageDraft
from app.chat.worker import persist_event, persist_many_event
from app.ops.metrics import CONNECTIONS, ERRORS, FRAMES_IN, FRAMES_OUT

logger = logging.getLogger(__name__)


class ChatConsumer(AsyncWebsocketConsumer):
    """One member's socket in one room, in the plain (seed) or the opt-in dialect."""

    joined = False
    closing = False
    seen_seq = 0
    strikes = 0  # frames refused in a row for the rate limit

    async def connect(self) -> None:
        """Called when a WebSocket handshake arrives: check the room, join it, accept."""
        self._setup()
        try:
            after = self._read_query() if self.opted_in else None
            last_id = await self._room_last_seq()
        except (InvalidFrame, RoomNotFound) as error:
            await self.accept(self._subprotocol)
            code = (
                protocol.CLOSE_ROOM_NOT_FOUND
                if isinstance(error, RoomNotFound)
                else (protocol.CLOSE_INVALID_FRAME)
            )
            await self._refuse(error, close_code=code)
            return
        # Join before accepting, so no message sent after the client sees the socket
        # open can pass it by; what the hub delivers meanwhile waits in _early.
        hub = await get_hub()
        # Nobody can have seen past the room's last message (its history was reset).
        await hub.join(self.label, self, after=None if after is None else min(after, last_id))
        self.joined = True
        CONNECTIONS.labels(dialect=self._dialect).inc()
        await self.accept(self._subprotocol)
        if self.opted_in:
            welcome = protocol.welcome_frame(
                room=self.label, connection=self.connection_id, last_id=last_id
            )
            await self._send_frame(welcome)
            # Read while the hub's frames still wait in _early: a join or leave that
            # comes after this snapshot then reaches the client after it, too.
            await self._send_frame(protocol.presence_frame(await hub.room_members(self.label)))
        await self._flush_early()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called for each frame the client sends."""
        FRAMES_IN.inc()
        if not self.joined or self.closing:
            return
        if text_data is None:
            error = InvalidFrame("binary_not_supported", "Send JSON text frames, not binary.")
            await self._refuse(error, close_code=protocol.CLOSE_UNSUPPORTED_DATA)
            return
        retry_after = self.bucket.take()
        self.strikes = self.strikes + 1 if retry_after else 0
        if retry_after and (not self.opted_in or self.strikes > self.bucket.burst):
            # Plain clients cannot hear an error; opted-in ones ignored a burst of them.
            await self._refuse(RateLimited(retry_after), close_code=protocol.CLOSE_RATE_LIMITED)
            return
        try:
            frame = parse_frame(text_data, opted_in=self.opted_in, limits=self.limits)
            if retry_after:
                raise RateLimited(retry_after, client_id=frame.client_id)
        except FrameTooLarge as error:
            await self._refuse(error, close_code=protocol.CLOSE_TOO_LARGE)
        except (InvalidFrame, RateLimited) as error:
            await self._reject(error)
        else:
            await self._submit(frame)

    async def disconnect(self, code: int) -> None:
        """Called when the socket closes, whichever side closed it."""
        await self._hand_over(self.outbox.drain())
        if not self.joined:
            return
        self.joined = False
        CONNECTIONS.labels(dialect=self._dialect).dec()
        hub = await get_hub()
        await hub.leave(self.label, self)

    async def chat_ack(self, event: dict[str, Any]) -> None:
        """Called by the worker once this client's message is durably stored."""
        if self.opted_in:
            frame = protocol.ack_frame(
                client_id=event["client_id"], seq=event["seq"], duplicate=event["duplicate"]
            )
            await self._send_frame(frame)
        await self.outbox.acked(event["client_id"])

    # ------------------------------------------------------------ the hub's view
    def info(self) -> MemberInfo:
        """Presence details of this member."""
        return {"id": self.connection_id, "handle": self.handle, "since": self.since}

    async def send_text(self, text: str) -> None:
        """Send one already-encoded frame (the hub encodes once per room)."""
        if self._early is not None:
            self._early.append(text)
        else:
            await self.send(text_data=text)

    # ------------------------------------------------------------ helpers
    def _setup(self) -> None:
        config = settings.PARLEY
        self.label: str = self.scope["url_route"]["kwargs"]["label"]
        self.opted_in = protocol.SUBPROTOCOL in self.scope.get("subprotocols", [])
        self._subprotocol = protocol.SUBPROTOCOL if self.opted_in else None
        self.connection_id = uuid.uuid4().hex[:16]
        self.handle: str | None = None
        self.since = time.time()
        self.limits = Limits(
            max_frame_bytes=config["MAX_FRAME_BYTES"],
            max_handle_chars=config["MAX_HANDLE_CHARS"],
            max_message_chars=config["MAX_MESSAGE_CHARS"],
        )
        self.bucket = TokenBucket(rate=config["RATE_PER_SECOND"], burst=config["RATE_BURST"])
        self.outbox = Outbox(self._send_to_worker, limit=config["OUTBOX_LIMIT"])
        self.sent_count = 0
        self._early: list[str] | None = []

    async def _flush_early(self) -> None:
        """Send what the hub delivered before the handshake completed, then go direct."""
        while self._early:
            await self.send(text_data=self._early.pop(0))
        self._early = None

    @property
    def _dialect(self) -> str:
        return "parley" if self.opted_in else "plain"

    async def _submit(self, frame: ChatFrame) -> None:
        self.sent_count += 1
        draft = MessageDraft(
            label=self.label,
            handle=frame.handle,
            message=frame.message,
            # Plain clients send no id: one is made so a resend cannot store twice. Its "~"
            # is not allowed in clients' ids, so nobody can forge it to mute this sender.
            client_id=frame.client_id or f"~{self.connection_id}.{self.sent_count}",
            reply_channel=self.channel_name,
            received_at=time.time(),
        )
        try:
            await self.outbox.put(draft)
        except OutboxFull as error:
            error.client_id = frame.client_id
            await self._reject(error)

    async def _send_to_worker(self, draft: MessageDraft) -> None:
        await self._to_persist_channel(persist_event(draft))

    async def _to_persist_channel(self, event: dict[str, Any]) -> None:
        await self.channel_layer.send(settings.PARLEY["PERSIST_CHANNEL"], event)

    async def _hand_over(self, unsent: list[MessageDraft]) -> None:
        """Have the workers store, in order, what this closed socket sent but saw no ack for."""
        if not unsent:
            return
        try:
            await self._to_persist_channel(persist_many_event(unsent))
        except Exception:  # the layer is down: opted-in clients resend, plain ones cannot
            ERRORS.labels(kind="hand_over").inc()
            logger.exception("Lost %d unsent message(s) of %s", len(unsent), self.connection_id)

    async def _room_last_seq(self) -> int:
        last_seq = None
        if is_valid_label(self.label):
            last_seq = await database_sync_to_async(selectors.room_last_seq)(label=self.label)
        if last_seq is None:
            raise RoomNotFound(self.label)
        return last_seq

    def _read_query(self) -> int | None:
        """Parse ``?after=N&handle=NAME`` of an opted-in client."""
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        handle = query.get("handle", [None])[0]
        if handle is not None:
            try:
                self.handle = parse_handle(handle, limits=self.limits)
            except InvalidFrame as error:
                raise InvalidFrame("invalid_query", f"handle: {error.detail}") from None
        after = query.get("after", [None])[0]
        if after is None:
            return None
        if not after.isdigit() or len(after) > 18:
            raise InvalidFrame("invalid_query", "after must be a message id (0 or more).")
        return int(after)

    async def _reject(self, error: InvalidFrame | RateLimited | OutboxFull) -> None:
        """Answer a refused frame: an error frame when opted in, else close the socket."""
        ERRORS.labels(kind=error.code).inc()
        if not self.opted_in:
            busy = isinstance(error, OutboxFull)
            code = protocol.CLOSE_TRY_AGAIN_LATER if busy else protocol.CLOSE_INVALID_FRAME
            await self._close(code, error.code)
            return
        extra: dict[str, Any] = {}
        if isinstance(error, RateLimited):
            extra["retry_after"] = round(error.retry_after, 3)
        await self._send_frame(
            protocol.error_frame(error.code, error.detail, client_id=error.client_id, **extra)
        )

    async def _refuse(self, error: ChatError, *, close_code: int) -> None:
        """End a connection that cannot go on, saying why first where the client listens."""
        ERRORS.labels(kind=error.code).inc()
        if self.opted_in:
            await self._send_frame(protocol.error_frame(error.code, str(error), close=close_code))
        await self._close(close_code, error.code)

    async def _close(self, code: int, reason: str) -> None:
        self.closing = True
        logger.info("Closing %s in %s: %s (%d)", self.connection_id, self.label, reason, code)
        await self.close(code=code, reason=reason)

    async def _send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=protocol.dumps(frame))
        FRAMES_OUT.inc()

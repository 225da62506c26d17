"""The chat WebSocket: thin over the protocol (parsing), its outbox (storing) and the hub."""

import contextlib
import functools
import logging
import time
import uuid
from dataclasses import replace
from typing import Any

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch

from app.chat import protocol
from app.chat.admission import Admission
from app.chat.events import MemberInfo, persist_event, persist_many_event
from app.chat.exceptions import (
    BinaryFrame,
    ChatError,
    GoingAway,
    OutboxFull,
    RateLimited,
    RoomNotFound,
    Unavailable,
)
from app.chat.history import RoomHistory
from app.chat.hub import Hub
from app.chat.hubs import Hubs
from app.chat.messages import ChatMessage
from app.chat.outbox import Outbox
from app.chat.ratelimit import RateLimit
from app.chat.retry import Backoff, retry
from app.ops.metrics import CONNECTIONS, ERRORS, FRAMES_IN, FRAMES_OUT

logger = logging.getLogger(__name__)


class ChatConsumer(AsyncWebsocketConsumer):
    """One member's socket in one room, in the plain (seed) or the opt-in dialect."""

    accepted = False
    admitted = False  # counted against the process's socket caps
    joined = False
    closing = False  # closed for bad input: later frames are ignored
    going_away = False  # closed because this server stops: later frames are still taken

    def __init__(
        self,
        *,
        admission: Admission,
        hubs: Hubs,
        history: RoomHistory,
        persist_channel: str,
        limits: protocol.Limits,
        rate_limit: RateLimit,
        outbox_limit: int,
        resends: Backoff,
        receive_backoff: Backoff,
    ) -> None:
        super().__init__()
        self.receive_backoff = receive_backoff
        self.admission = admission
        self.hubs = hubs
        self.history = history
        self.persist_channel = persist_channel
        self.limits = limits
        self.rate_limit = rate_limit
        self.outbox = Outbox(self._send_to_worker, limit=outbox_limit, resends=resends)
        self.connection_id = uuid.uuid4().hex[:16]
        self.handle: str | None = None
        self.since = time.time()
        self.sent_count = 0

    async def __call__(self, scope, receive, send) -> None:
        """Called by the server for each connection: channels' own loop, made to last.

        The socket's channel (where acks arrive) is read through ``retry``, so a
        Redis outage is waited out instead of ending the connection with 1011.
        """
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = await self.channel_layer.new_channel()
        self.base_send = send
        read_channel = functools.partial(self.channel_layer.receive, self.channel_name)
        channel_receive = functools.partial(
            retry, read_channel, backoff=self.receive_backoff, on_retry=_receive_failed
        )
        with contextlib.suppress(StopConsumer):  # the connection ended as it should
            await await_many_dispatch([receive, channel_receive], self.dispatch)

    async def connect(self) -> None:
        """Called when a WebSocket handshake arrives: check the room, join it, accept."""
        self.label: str = self.scope["url_route"]["kwargs"]["label"]
        self.opted_in = protocol.SUBPROTOCOL in self.scope.get("subprotocols", [])
        self.allowance = self.rate_limit.allowance(warns=self.opted_in)
        try:
            self._admit()
            after = self._read_query()
            self.last_id = await self._room_last_seq()
            if after is not None:  # nobody saw past the room's last message (history reset)
                after = min(after, self.last_id)
            await self._enter(await self.hubs.get(), after=after)
        except ChatError as error:
            await self._refuse(error)
        except Exception:  # Redis or Postgres failed mid-join; _enter left no trace
            ERRORS.labels(kind="join_failed").inc()
            logger.warning("Could not join %s to %s", self.connection_id, self.label, exc_info=True)
            await self._refuse(Unavailable())

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Called for each frame the client sends."""
        FRAMES_IN.inc()
        if not self.joined or self.closing:
            return
        try:
            message = self._parse(text_data)
        except ChatError as error:
            await self._answer(error)
        else:
            await self._submit(message)

    async def disconnect(self, code: int) -> None:
        """Called when the socket closes, whichever side closed it."""
        await self._hand_over(self.outbox.drain())
        if self.admitted:
            self.admitted = False
            self.admission.release(self._address)
        if not self.joined:
            return
        self.joined = False
        CONNECTIONS.labels(dialect=self._dialect).dec()
        hub = await self.hubs.get()
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
        await self.send(text_data=text)

    async def go_away(self) -> None:
        """Called when this server stops: ask the client to reconnect (to another one)."""
        if not self.closing and not self.going_away:
            self.going_away = True
            await self._answer(GoingAway())

    # ------------------------------------------------------------ helpers
    async def _enter(self, hub: Hub, *, after: int | None) -> None:
        """Join the room, accept, greet, then let held frames flow: all of it, or no trace.

        Joining comes before accepting, so no message sent after the client sees
        the socket open can pass it by: the hub holds what it delivers meanwhile.
        """
        await hub.join(self.label, self, after=after)
        try:
            await self._accept()
            if self.opted_in:
                await self._greet(hub)
            await hub.release(self.label, self)
        except BaseException:
            await hub.leave(self.label, self)
            raise
        self.joined = True
        CONNECTIONS.labels(dialect=self._dialect).inc()

    @property
    def _address(self) -> str | None:
        client = self.scope.get("client")  # X-Forwarded-For's, behind daphne's --proxy-headers
        return client[0] if client else None

    def _admit(self) -> None:
        self.admission.admit(self._address)
        self.admitted = True

    async def _room_last_seq(self) -> int:
        last_seq = await self.history.last_seq(self.label)
        if last_seq is None:
            raise RoomNotFound(self.label)
        return last_seq

    async def _accept(self) -> None:
        await self.accept(self._subprotocol)
        self.accepted = True

    async def _refuse(self, error: ChatError) -> None:
        """Answer a connection that cannot go on: accepted first, so the client hears why."""
        if not self.accepted:
            await self._accept()
        await self._answer(error)

    @property
    def _dialect(self) -> str:
        return "parley" if self.opted_in else "plain"

    @property
    def _subprotocol(self) -> str | None:
        return protocol.SUBPROTOCOL if self.opted_in else None

    def _read_query(self) -> int | None:
        """The opted-in client's ``?after=``, noting its ``?handle=``; plain clients send none."""
        if not self.opted_in:
            return None
        query = protocol.parse_query(self.scope.get("query_string", b""), limits=self.limits)
        self.handle = query.handle
        return query.after

    async def _greet(self, hub: Hub) -> None:
        """Tell an opted-in client who it is, where the room stands and who is in it."""
        welcome = protocol.welcome_frame(
            room=self.label, connection=self.connection_id, last_id=self.last_id
        )
        await self._send_frame(welcome)
        # Read while the hub still holds this socket's frames: a join or leave that
        # comes after this snapshot then reaches the client after it, too.
        await self._send_frame(protocol.presence_frame(await hub.room_members(self.label)))

    def _parse(self, text_data: str | None) -> ChatMessage:
        """The message in one client frame; raises the ``ChatError`` to answer instead."""
        if text_data is None:
            raise BinaryFrame()
        retry_after = self.allowance.take()
        message = protocol.parse_frame(
            text_data, label=self.label, opted_in=self.opted_in, limits=self.limits
        )
        if retry_after:
            raise RateLimited(retry_after, client_id=message.client_id)
        return message

    async def _submit(self, message: ChatMessage) -> None:
        self.sent_count += 1
        draft = replace(
            message,
            # Plain clients send no id: one is made so a resend cannot store twice. Its "~"
            # is not allowed in clients' ids, so nobody can forge it to mute this sender.
            client_id=message.client_id or f"~{self.connection_id}.{self.sent_count}",
            reply_channel=self.channel_name,
            received_at=time.time(),
        )
        try:
            await self.outbox.put(draft)
        except OutboxFull as error:
            error.client_id = message.client_id
            await self._answer(error)

    async def _send_to_worker(self, message: ChatMessage) -> None:
        await self.channel_layer.send(self.persist_channel, persist_event(message))

    async def _hand_over(self, unsent: list[ChatMessage]) -> None:
        """Have the workers store, in order, what this closed socket sent but saw no ack for."""
        if not unsent:
            return
        try:
            await self.channel_layer.send(self.persist_channel, persist_many_event(unsent))
        except Exception:  # the layer is down: opted-in clients resend, plain ones cannot
            ERRORS.labels(kind="hand_over").inc()
            logger.exception("Lost %d unsent message(s) of %s", len(unsent), self.connection_id)

    async def _answer(self, error: ChatError) -> None:
        """Answer refused input: an error frame where the client listens, a close where due."""
        ERRORS.labels(kind=error.code).inc()
        close_code = protocol.close_code_for(error, opted_in=self.opted_in)
        if self.opted_in:
            await self._send_frame(protocol.error_frame_for(error, close=close_code))
        if close_code is not None:
            # Frames a stopping server still reads are taken: its disconnect hands them over.
            self.closing = not isinstance(error, GoingAway)
            logger.info(
                "Closing %s in %s: %s (%d)", self.connection_id, self.label, error.code, close_code
            )
            await self.close(code=close_code, reason=error.code)

    async def _send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=protocol.dumps(frame))
        FRAMES_OUT.inc()


def _receive_failed(error: BaseException, delay: float) -> None:
    # Every socket of the process hears the same outage: count each, log quietly.
    ERRORS.labels(kind="layer_receive").inc()
    logger.debug("A socket's channel read failed (%r); retrying in %.2f s", error, delay)

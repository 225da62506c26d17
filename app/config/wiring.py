"""Parley's parts, built from ``settings.PARLEY``: the one place that reads it.

Each part takes the values it needs as keyword arguments; nothing below this
module reads settings. The routing (ASGI) and the URLs (HTTP) take what they
serve from here.
"""

import logging

from channels.layers import get_channel_layer
from channels.routing import ChannelNameRouter
from django.conf import settings
from django.urls import URLPattern

from app.chat.admission import Admission
from app.chat.consumers import ChatConsumer
from app.chat.history import RoomHistory
from app.chat.hub import Hub
from app.chat.hubs import Hubs
from app.chat.presence import MemoryPresence, PresenceStore, RedisPresence
from app.chat.protocol import CLOSE_SLOW_READER, Limits
from app.chat.ratelimit import RateLimit
from app.chat.retry import Backoff
from app.chat.urls import chat_urlpatterns
from app.chat.worker import PersistConsumer, PersistWorker
from app.config.parley import ParleySettings
from app.config.shutdown import stop_gracefully_on_sigterm
from app.ops.interface_server import SendLimits
from app.ops.lifecycle import set_full
from app.ops.metrics import ERRORS
from app.ops.redis import async_client

logger = logging.getLogger(__name__)

CONFIG: ParleySettings = settings.PARLEY


def receive_backoff() -> Backoff:
    """How the hub's and the worker's receive loops wait out an unreachable layer."""
    return Backoff(first=CONFIG.retry_first_seconds, maximum=CONFIG.retry_max_seconds)


def presence_store() -> PresenceStore:
    """The store that fits the configured channel layer: Redis when there is one."""
    if not settings.REDIS_HOSTS:
        return MemoryPresence()
    # A pool of its own (presence decodes replies; the layer does not) that waits at its limit.
    client = async_client(settings.REDIS_HOSTS[0], decode_responses=True)
    return RedisPresence(client, ttl=CONFIG.presence_ttl_seconds)


async def start_hub() -> Hub:
    """Start this event loop's hub (and, for ``make run``, the worker beside it)."""
    hub = Hub(
        get_channel_layer(),
        presence_store(),
        history=RoomHistory(),
        gap_hold=CONFIG.gap_hold_seconds,
        catchup_limit=CONFIG.catchup_limit,
        resync_seconds=CONFIG.resync_seconds,
        receive_backoff=receive_backoff(),
    )
    await hub.start()
    stop_gracefully_on_sigterm(
        hub, close_within=CONFIG.shutdown_close_seconds, wait=CONFIG.shutdown_wait_seconds
    )
    if CONFIG.inprocess_worker:
        hub.spawn(run_inprocess_worker())
    return hub


HUBS = Hubs(start_hub)
ADMISSION = Admission(
    max_sockets=CONFIG.max_sockets,
    max_per_address=CONFIG.max_sockets_per_address,
    on_full=set_full,
)


def chat_consumer():
    """The ASGI application of the chat WebSocket."""
    return ChatConsumer.as_asgi(
        admission=ADMISSION,
        hubs=HUBS,
        history=RoomHistory(),
        persist_channel=CONFIG.persist_channel,
        limits=Limits(
            max_frame_bytes=CONFIG.max_frame_bytes,
            max_handle_chars=CONFIG.max_handle_chars,
            max_message_chars=CONFIG.max_message_chars,
        ),
        rate_limit=RateLimit(per_second=CONFIG.rate_per_second, burst=CONFIG.rate_burst),
        outbox_limit=CONFIG.outbox_limit,
        resends=Backoff(
            first=CONFIG.ack_timeout_seconds, maximum=CONFIG.ack_timeout_max_seconds, jitter=0.2
        ),
        receive_backoff=receive_backoff(),
    )


def send_limits() -> SendLimits:
    """What the interface server lets one socket hold unsent before closing it."""
    return SendLimits(
        buffer_bytes=CONFIG.send_buffer_bytes,
        kernel_bytes=CONFIG.socket_send_buffer_bytes,
        close_code=CLOSE_SLOW_READER,
        on_close=ERRORS.labels(kind="slow_reader").inc,
    )


def channel_router() -> ChannelNameRouter:
    """The worker's channels: the persist channel and its consumer."""
    consumer = PersistConsumer.as_asgi(
        batch_size=CONFIG.batch_size,
        window=CONFIG.batch_window_seconds,
        store_backoff=Backoff(
            first=CONFIG.retry_first_seconds,
            maximum=CONFIG.store_retry_max_seconds,
            retries=CONFIG.store_retries or None,
        ),
        send_backoff=Backoff(
            first=CONFIG.retry_first_seconds,
            maximum=CONFIG.retry_max_seconds,
            retries=CONFIG.layer_send_retries,
        ),
    )
    return ChannelNameRouter({CONFIG.persist_channel: consumer})


def persist_worker(application, channels: list[str], channel_layer, **kwargs) -> PersistWorker:
    """A worker reading ``channels`` into ``application`` (``runworker`` and ``make run``)."""
    return PersistWorker(
        application=application,
        channels=channels,
        channel_layer=channel_layer,
        receive_backoff=receive_backoff(),
        max_pending=CONFIG.worker_max_pending,
        drain_seconds=CONFIG.worker_drain_seconds,
        **kwargs,
    )


async def run_inprocess_worker() -> None:
    """Run the worker inside this process (``make run``: no Redis, one process)."""
    logger.info("Running the persist worker in-process on %r", CONFIG.persist_channel)
    worker = persist_worker(
        channel_router(),
        [CONFIG.persist_channel],
        get_channel_layer(),
        handle_signals=False,  # the server owns the process's signals
    )
    await worker.arun()


def chat_urls() -> list[URLPattern]:
    """The chat's pages."""
    return chat_urlpatterns(history_limit=CONFIG.history_limit)

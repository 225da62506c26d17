"""Parley's own settings: one typed, frozen object, read from the environment once.

``settings.PARLEY`` holds it; ``app.config.wiring`` alone reads it and hands
each part the values it needs as keyword arguments. Every field is a
``PARLEY_<NAME>`` variable documented in the README's configuration table.
"""

from dataclasses import dataclass, field, fields, replace
from typing import Any

from app.config.env import env_bool, env_float, env_int


def _tunable(default: Any, *, minimum: float | None = None) -> Any:
    """A field read from ``PARLEY_<FIELD NAME>``, refusing values below ``minimum``."""
    return field(default=default, metadata={"env": True, "minimum": minimum})


@dataclass(frozen=True, slots=True, kw_only=True)
class ParleySettings:
    """Every tunable of the chat, the worker and the hub, with its default."""

    persist_channel: str = "chat.persist"
    # Without Redis the worker cannot be a separate process: it runs in the server.
    inprocess_worker: bool = _tunable(False)
    # Client frames.
    max_frame_bytes: int = _tunable(32768, minimum=256)
    max_handle_chars: int = _tunable(32, minimum=1)
    max_message_chars: int = _tunable(2000, minimum=1)
    rate_per_second: float = _tunable(10.0, minimum=0.1)
    rate_burst: int = _tunable(20, minimum=1)
    # Sockets this process (and one client address) may hold; 0: no cap.
    max_sockets: int = _tunable(20000, minimum=0)
    max_sockets_per_address: int = _tunable(1000, minimum=0)
    # What one socket that does not read may hold (bytes; 0: no bound): unsent in the
    # interface server before it is closed as a slow reader, and in the kernel (SO_SNDBUF).
    send_buffer_bytes: int = _tunable(524288, minimum=0)
    socket_send_buffer_bytes: int = _tunable(65536, minimum=0)
    # A connection's messages on their way to storage.
    outbox_limit: int = _tunable(100, minimum=1)
    ack_timeout_seconds: float = _tunable(2.0, minimum=0.1)
    ack_timeout_max_seconds: float = _tunable(30.0, minimum=0.1)
    # Reading history.
    history_limit: int = _tunable(50, minimum=1)
    catchup_limit: int = _tunable(500, minimum=1)
    # The hub.
    gap_hold_seconds: float = _tunable(0.25, minimum=0.0)
    resync_seconds: float = _tunable(30.0, minimum=1.0)
    presence_ttl_seconds: int = _tunable(90, minimum=10)
    # Stopping an interface server (SIGTERM): within Heroku's 30 s and the chart's grace.
    shutdown_close_seconds: float = _tunable(10.0, minimum=0.0)
    shutdown_wait_seconds: float = _tunable(10.0, minimum=0.0)
    # The worker.
    batch_size: int = _tunable(200, minimum=1)
    batch_window_seconds: float = _tunable(0.005, minimum=0.0)
    worker_max_pending: int = _tunable(1000, minimum=1)
    worker_drain_seconds: float = _tunable(20.0, minimum=0.0)
    # Riding out outages: exponential backoff from retry_first_seconds.
    retry_first_seconds: float = _tunable(0.1, minimum=0.001)
    retry_max_seconds: float = _tunable(5.0, minimum=0.001)
    store_retries: int = _tunable(0, minimum=0)  # 0: while Postgres is down, keep trying
    store_retry_max_seconds: float = _tunable(10.0, minimum=0.001)
    layer_send_retries: int = _tunable(5, minimum=0)

    @staticmethod
    def env_name(name: str) -> str:
        """The environment variable that sets field ``name``."""
        return f"PARLEY_{name.upper()}"

    @classmethod
    def from_env(cls, **defaults: Any) -> "ParleySettings":
        """Read every tunable from the environment, ``defaults`` overriding the built-in ones."""
        base = replace(cls(), **defaults)
        values = {
            item.name: _read(cls.env_name(item.name), getattr(base, item.name), item.metadata)
            for item in fields(cls)
            if item.metadata.get("env")
        }
        return replace(base, **values)


def _read(name: str, default: Any, metadata: Any) -> Any:
    """Parse variable ``name`` as the type of its ``default``."""
    if isinstance(default, bool):
        return env_bool(name, default=default)
    minimum = metadata["minimum"]
    if isinstance(default, int):
        return env_int(name, default, minimum=int(minimum))
    return env_float(name, default, minimum=minimum)

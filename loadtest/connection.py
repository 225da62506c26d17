"""A member's WebSocket connection: opening it, closing it, and how its failures are named."""

import time
from dataclasses import dataclass, field

import gevent
import websocket

SUBPROTOCOL = "parley.v1"
CONNECT_TIMEOUT = 15.0


class WebSocketFailure(Exception):
    """A WebSocket failure reported in Locust's failures (grouped by its text)."""


@dataclass(eq=False)
class Session:
    """One WebSocket connection of a member."""

    ws: websocket.WebSocket
    opened_at: float
    closed_at: float | None = None
    closing: bool = False  # this side is closing it: not a drop to report
    receiver: gevent.Greenlet | None = field(default=None, repr=False)


def open_websocket(url: str, *, parley_v1: bool) -> websocket.WebSocket:
    """Open a socket to ``url`` (asking for ``parley.v1`` when told to), or raise why not."""
    ws = websocket.create_connection(
        url,
        timeout=CONNECT_TIMEOUT,
        subprotocols=[SUBPROTOCOL] if parley_v1 else None,
        suppress_origin=True,  # as command-line clients do; browsers' Origin is checked
        enable_multithread=True,  # send and receive from two greenlets
        skip_utf8_validation=True,  # decoding the text validates it anyway
    )
    if parley_v1 and ws.getsubprotocol() != SUBPROTOCOL:
        ws.close()
        raise WebSocketFailure(f"the server did not select {SUBPROTOCOL}")
    return ws


def close_session(session: Session) -> None:
    """Stop ``session``'s receive loop, then close its socket (cut it if the close hangs)."""
    session.closing = True
    if session.receiver is not None:
        session.receiver.kill(block=True)
    try:
        session.ws.close(timeout=2)
    except Exception:
        session.ws.shutdown()


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started`` (a ``time.perf_counter()``)."""
    return (time.perf_counter() - started) * 1000

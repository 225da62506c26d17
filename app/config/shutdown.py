"""SIGTERM on an interface server: stop gracefully first, then as the server itself would.

Daphne cancels every connection on SIGTERM without a ``disconnect``, so what
sockets sent but saw no ack for would be lost, and clients would see 1006.
Parley takes SIGTERM first: readiness goes off, joins are refused, every
socket is asked to reconnect (4503, ``going_away``) in batches spread over a
few seconds, each disconnect hands its unacknowledged messages to the workers,
and the rooms' groups are left. Then the server's own handler runs.
"""

import asyncio
import logging
import signal
import threading

from app.chat.hub import Hub
from app.ops.lifecycle import begin_stopping

logger = logging.getLogger(__name__)


def stop_gracefully_on_sigterm(hub: Hub, *, close_within: float, wait: float) -> None:
    """Install the handler for this process, where the event loop runs in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        logger.info("Not in the main thread: SIGTERM is left to the server")
        return
    loop = asyncio.get_running_loop()
    server_handler = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop at a time
        loop.call_soon_threadsafe(hub.spawn, stop(hub, close_within, wait, server_handler))

    signal.signal(signal.SIGTERM, on_sigterm)


async def stop(hub: Hub, close_within: float, wait: float, server_handler) -> None:
    """Stop ``hub`` gracefully, then hand SIGTERM to the server's own handler."""
    logger.info("SIGTERM: closing %d socket(s) within %s s", len(hub.members()), close_within)
    begin_stopping()
    try:
        await hub.stop(close_within=close_within, wait=wait)
    finally:
        signal.signal(signal.SIGTERM, server_handler)
        if callable(server_handler):
            server_handler(signal.SIGTERM, None)
        else:
            signal.raise_signal(signal.SIGTERM)
    logger.info("SIGTERM: every socket handed over; stopping the server")

"""Whether this process is stopping: readiness says so, so that no new traffic is sent here."""

import threading

_stopping = threading.Event()  # set from the event loop, read by readiness in a thread


def begin_stopping() -> None:
    """Mark this process as stopping (SIGTERM on an interface server)."""
    _stopping.set()


def is_stopping() -> bool:
    """Whether this process is stopping."""
    return _stopping.is_set()

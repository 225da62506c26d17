"""Whether this process is stopping or full: readiness says so, so no new traffic comes here."""

import threading

_stopping = threading.Event()  # set from the event loop, read by readiness in a thread
_full = threading.Event()


def begin_stopping() -> None:
    """Mark this process as stopping (SIGTERM on an interface server)."""
    _stopping.set()


def is_stopping() -> bool:
    """Whether this process is stopping."""
    return _stopping.is_set()


def set_full(full: bool) -> None:
    """Mark this process as holding all the sockets it may (or no longer)."""
    if full:
        _full.set()
    else:
        _full.clear()


def is_full() -> bool:
    """Whether this process holds all the sockets it may."""
    return _full.is_set()

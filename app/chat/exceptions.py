"""Errors the chat answers with. Each names its wire code (see docs/protocol.md).

Which of them close the socket, and with which code, is the protocol's
business: ``protocol.close_code_for``.
"""


class ChatError(Exception):
    """Base of the chat's errors; ``code`` is the error code sent to clients.

    ``detail`` is the sentence sent with it; ``client_id`` is that of the
    refused message, when it had a valid one.
    """

    code = "error"
    default_detail = "The request was refused."
    client_id: str | None = None

    def __init__(self, detail: str | None = None) -> None:
        detail = detail or self.default_detail
        super().__init__(detail)
        self.detail = detail


class InvalidFrame(ChatError, ValueError):
    """A client frame that breaks the protocol; ``code`` says how."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class FrameTooLarge(InvalidFrame):
    """A frame over the size limit: the connection cannot go on."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            "frame_too_large", f"Frame of {size} bytes is over the {limit}-byte limit."
        )


class BinaryFrame(InvalidFrame):
    """A binary frame: the protocol is JSON text, so the connection cannot go on."""

    def __init__(self) -> None:
        super().__init__("binary_not_supported", "Send JSON text frames, not binary.")


class InvalidQuery(InvalidFrame):
    """A bad ``?after=`` or ``?handle=`` at connect: the connection cannot go on."""

    def __init__(self, detail: str) -> None:
        super().__init__("invalid_query", detail)


class RateLimited(ChatError):
    """A client sending faster than its allowance; this frame was dropped."""

    code = "rate_limited"

    def __init__(self, retry_after: float, *, client_id: str | None = None) -> None:
        super().__init__(f"Too many frames; retry in {retry_after:.2f} s.")
        self.retry_after = retry_after
        self.client_id = client_id


class Flooding(RateLimited):
    """A client that kept sending over its allowance: the connection cannot go on."""


class RoomNotFound(ChatError, LookupError):
    """A WebSocket to a room that was never created, or an invalid label."""

    code = "room_not_found"

    def __init__(self, label: str) -> None:
        super().__init__(f"No room is labelled {label!r}.")


class Unavailable(ChatError):
    """Redis or Postgres failed while a client joined: nothing of it was kept; try again."""

    code = "unavailable"
    default_detail = "The room cannot be joined right now; reconnect in a moment."


class GoingAway(ChatError):
    """This server is stopping (a deploy): reconnect, and a load balancer picks another."""

    code = "going_away"
    default_detail = "This server is restarting; reconnect to continue."


class ServerFull(ChatError):
    """This process holds all the sockets it may: reconnect (to another server)."""

    code = "server_full"
    default_detail = "This server is full; reconnect in a moment."


class TooManySockets(ChatError):
    """One client address holds all the sockets it may on this server."""

    code = "too_many_sockets"

    def __init__(self, limit: int) -> None:
        super().__init__(f"Your address already holds {limit} sockets here; close some first.")


class OutboxFull(ChatError):
    """A client with too many messages awaiting storage."""

    code = "overloaded"

    def __init__(self, limit: int, *, client_id: str | None = None) -> None:
        super().__init__(f"{limit} messages are already waiting to be stored; slow down.")
        self.client_id = client_id

"""Errors the chat answers with. Each names its wire code (see docs/protocol.md)."""


class ChatError(Exception):
    """Base of the chat's errors; ``code`` is the error code sent to clients.

    ``client_id`` is that of the refused message, when it had a valid one.
    """

    code = "error"
    client_id: str | None = None


class InvalidFrame(ChatError, ValueError):
    """A client frame that breaks the protocol; ``code`` says how."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class FrameTooLarge(InvalidFrame):
    """A frame over the size limit: the connection cannot go on."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            "frame_too_large", f"Frame of {size} bytes is over the {limit}-byte limit."
        )


class RateLimited(ChatError):
    """A client sending faster than its allowance."""

    code = "rate_limited"

    def __init__(self, retry_after: float, *, client_id: str | None = None) -> None:
        super().__init__(f"Too many frames; retry in {retry_after:.2f} s.")
        self.retry_after = retry_after
        self.client_id = client_id
        self.detail = str(self)


class RoomNotFound(ChatError, LookupError):
    """A WebSocket to a room that was never created, or an invalid label."""

    code = "room_not_found"

    def __init__(self, label: str) -> None:
        super().__init__(f"No room is labelled {label!r}.")
        self.detail = str(self)


class OutboxFull(ChatError):
    """A client with too many messages awaiting storage."""

    code = "overloaded"

    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} messages are already waiting to be stored; slow down.")
        self.detail = str(self)

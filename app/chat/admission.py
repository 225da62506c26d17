"""How many sockets this process holds, in all and per client address, against its caps.

A process that holds ``max_sockets`` refuses more (``server_full``) and reports
itself full, so readiness sends new connections to other servers; one client
address may hold ``max_per_address`` (``too_many_sockets``). Zero means no cap.
"""

from collections import Counter
from collections.abc import Callable

from app.chat.exceptions import ServerFull, TooManySockets


class Admission:
    """The socket counts of this process; ``on_full(bool)`` hears when it fills up or frees."""

    def __init__(
        self,
        *,
        max_sockets: int,
        max_per_address: int,
        on_full: Callable[[bool], None] = lambda full: None,
    ) -> None:
        self.max_sockets = max_sockets
        self.max_per_address = max_per_address
        self._on_full = on_full
        self.sockets = 0
        self._per_address: Counter[str] = Counter()

    def admit(self, address: str | None) -> None:
        """Count one more socket from ``address``, or raise why it cannot be had."""
        if self.max_sockets and self.sockets >= self.max_sockets:
            raise ServerFull()
        if address and self.max_per_address and self._per_address[address] >= self.max_per_address:
            raise TooManySockets(self.max_per_address)
        self.sockets += 1
        if address:
            self._per_address[address] += 1
        if self.max_sockets and self.sockets == self.max_sockets:
            self._on_full(True)

    def release(self, address: str | None) -> None:
        """Count one socket from ``address`` less."""
        if self.max_sockets and self.sockets == self.max_sockets:
            self._on_full(False)
        self.sockets -= 1
        if address:
            self._per_address[address] -= 1
            if not self._per_address[address]:
                del self._per_address[address]

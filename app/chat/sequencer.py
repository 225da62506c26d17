"""In-order release of a room's messages by their sequence numbers."""

from typing import Generic, TypeVar

T = TypeVar("T")


class Sequencer(Generic[T]):
    """Releases items strictly in sequence order, holding those past a gap.

    Items below ``next_seq`` (already released) and repeats are ignored, so a
    message that reaches a server twice is delivered once.
    """

    def __init__(self, next_seq: int) -> None:
        self.next_seq = next_seq
        self._held: dict[int, T] = {}

    def push(self, seq: int, item: T) -> list[T]:
        """Offer ``item`` numbered ``seq``; return the items now releasable, in order."""
        if seq >= self.next_seq and seq not in self._held:
            self._held[seq] = item
        return self._release()

    def missing(self) -> tuple[int, int] | None:
        """Return the first gap as ``(first, last)`` missing numbers, or None."""
        if not self._held:
            return None
        return self.next_seq, min(self._held) - 1

    def skip_to(self, seq: int) -> list[T]:
        """Give up on the numbers below ``seq``; return what that releases."""
        self.next_seq = max(self.next_seq, seq)
        for stale in [held for held in self._held if held < self.next_seq]:
            del self._held[stale]
        return self._release()

    def _release(self) -> list[T]:
        released = []
        while self.next_seq in self._held:
            released.append(self._held.pop(self.next_seq))
            self.next_seq += 1
        return released

"""The fan-out ledger: what was sent, what arrived where, how long it took, what was lost.

One ledger per Locust process. Every user of a process runs in it (greenlets
of one gevent loop, so no locks), which lets senders publish what they sent
and members check what they received against it when the test stops.

Loss is reported only where it can be known: a member is checked against the
messages sent **by senders of its own process** into its room **while it was
connected**, leaving out messages whose sender's socket was closed or refused
before the server confirmed them (the sender's own echo, or the ``ack`` of
``parley.v1``): those are counted as unconfirmed or refused instead. Messages
from other processes still count as deliveries, with their latency.
"""

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PENDING = "pending"  # sent; its sender has not seen it stored yet
CONFIRMED = "confirmed"  # its sender received its echo (or an ack): the server stored it
UNCONFIRMED = "unconfirmed"  # the sender's socket closed before the server confirmed it
REFUSED = "refused"  # the server answered with an error frame: it was not stored

BUCKETS_PER_MS = 10  # latency histogram resolution: 0.1 ms


@dataclass(slots=True)
class Sent:
    """One message a sender of this process sent."""

    key: str
    room: str
    sender: str
    at: float  # wall-clock time just before the frame was written
    status: str = PENDING


@dataclass
class Histogram:
    """Latencies in 0.1 ms buckets: small, exact enough, and mergeable across processes."""

    buckets: Counter = field(default_factory=Counter)

    def add(self, ms: float) -> None:
        """Count one latency of ``ms`` milliseconds."""
        self.buckets[max(0, round(ms * BUCKETS_PER_MS))] += 1

    def merge(self, other: dict[Any, int]) -> None:
        """Add the buckets of another histogram (keys may arrive as strings, from JSON)."""
        for bucket, count in other.items():
            self.buckets[int(bucket)] += count

    @property
    def count(self) -> int:
        """How many latencies were counted."""
        return sum(self.buckets.values())

    def percentile(self, fraction: float) -> float | None:
        """The latency (ms) below which ``fraction`` of them fall; ``None`` when empty."""
        total = self.count
        if not total:
            return None
        rank = max(1, math.ceil(fraction * total))
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                return bucket / BUCKETS_PER_MS
        return max(self.buckets) / BUCKETS_PER_MS


class Ledger:
    """Everything one process's users sent and received during one test."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the last test (a new one is starting)."""
        self.sent: dict[str, Sent] = {}
        self.by_room: dict[str, list[Sent]] = {}
        self.latency = Histogram()
        self.stopping_at: float | None = None
        self.counts: Counter = Counter()
        self.rooms: set[str] = set()
        self.rooms_with_sender: set[str] = set()

    # Senders -------------------------------------------------------------

    def record_send(self, key: str, room: str, sender: str, at: float) -> Sent:
        """Publish a message a sender of this process is about to write."""
        sent = Sent(key, room, sender, at)
        self.sent[key] = sent
        self.by_room.setdefault(room, []).append(sent)
        self.rooms_with_sender.add(room)
        self.counts["sent"] += 1
        return sent

    def confirm(self, key: str) -> None:
        """The sender saw ``key`` stored (its own echo, or an ack)."""
        sent = self.sent.get(key)
        if sent is not None and sent.status in (PENDING, UNCONFIRMED):
            sent.status = CONFIRMED

    def refuse(self, key: str) -> None:
        """The server refused ``key`` with an error frame: it was not stored."""
        sent = self.sent.get(key)
        if sent is not None and sent.status == PENDING:
            sent.status = REFUSED
            self.counts["refused"] += 1

    def sender_dropped(self, sender: str) -> None:
        """``sender``'s socket closed: its messages not yet confirmed may or may not be stored."""
        for sent in self.sent.values():
            if sent.sender == sender and sent.status == PENDING:
                sent.status = UNCONFIRMED

    # Members -------------------------------------------------------------

    def joined(self, room: str) -> None:
        """A member of this process joined ``room``."""
        self.rooms.add(room)

    def delivered(self, latency_ms: float) -> None:
        """A load-test message reached a member after ``latency_ms``."""
        self.counts["deliveries"] += 1
        self.latency.add(latency_ms)

    def count(self, what: str, n: int = 1) -> None:
        """Count an event of the summary (``duplicates``, ``lost``, ``connects``, ...)."""
        self.counts[what] += n

    def expected(self, room: str, intervals: Iterable[tuple[float, float]]) -> list[Sent]:
        """Messages a member of ``room`` connected during ``intervals`` must have received."""
        spans = list(intervals)
        return [
            sent
            for sent in self.by_room.get(room, ())
            if sent.status in (PENDING, CONFIRMED)
            and any(start <= sent.at < end for start, end in spans)
        ]

    # Summary -------------------------------------------------------------

    def summary(self, process: str) -> dict[str, Any]:
        """This process's figures, JSON-ready (see ``merge`` for several processes)."""
        counts = dict(self.counts)
        counts["unconfirmed"] = sum(1 for s in self.sent.values() if s.status == UNCONFIRMED)
        return {
            "processes": [process],
            "rooms": len(self.rooms | self.rooms_with_sender),
            "rooms_without_sender": len(self.rooms - self.rooms_with_sender),
            "counts": counts,
            "histogram": dict(self.latency.buckets),
        }


LEDGER = Ledger()  # this process's: all its users write to it and check against it


COUNT_KEYS = (
    "connects",
    "connect_failures",
    "disconnects",
    "sent",
    "send_failures",
    "deliveries",
    "checked",
    "lost",
    "duplicates",
    "out_of_order",
    "gaps",
    "unconfirmed",
    "refused",
    "acks",
)


def merge(summaries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One report from the summaries of several processes (or of one)."""
    histogram = Histogram()
    counts: Counter = Counter()
    processes: list[str] = []
    rooms = rooms_without_sender = 0
    for summary in summaries:
        processes += summary["processes"]
        rooms += summary["rooms"]
        rooms_without_sender += summary["rooms_without_sender"]
        counts.update(summary["counts"])
        histogram.merge(summary["histogram"])
    return {
        "processes": processes,
        "rooms": rooms,
        "rooms_without_sender": rooms_without_sender,
        "counts": {key: counts.get(key, 0) for key in COUNT_KEYS},
        "latency_ms": {
            name: histogram.percentile(fraction)
            for name, fraction in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
        },
        "histogram": dict(histogram.buckets),
    }


def describe(report: dict[str, Any]) -> str:
    """A few lines for people, from ``merge``'s report."""
    c = report["counts"]
    lat = report["latency_ms"]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} ms"

    return (
        f"Parley fan-out ({len(report['processes'])} load process(es), "
        f"{report['rooms']} rooms):\n"
        f"  messages sent {c['sent']:,}, deliveries {c['deliveries']:,}\n"
        f"  delivery latency p50 {ms(lat['p50'])}, p90 {ms(lat['p90'])}, "
        f"p99 {ms(lat['p99'])}, max {ms(lat['max'])}\n"
        f"  lost {c['lost']:,} of {c['checked']:,} checked deliveries; "
        f"duplicates {c['duplicates']:,}, out of order {c['out_of_order']:,}, "
        f"gaps {c['gaps']:,}; "
        f"unconfirmed {c['unconfirmed']:,}, refused {c['refused']:,}\n"
        f"  connects {c['connects']:,} ok, {c['connect_failures']:,} failed, "
        f"{c['disconnects']:,} dropped by the server"
        + (
            f"\n  {report['rooms_without_sender']} room(s) had members but no sender here"
            if report["rooms_without_sender"]
            else ""
        )
    )

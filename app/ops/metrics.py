"""Prometheus metrics. Every process exposes its own; scrape each pod."""

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

from app.ops.checks import persist_queue_depth

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

CONNECTIONS = Gauge(
    "parley_websocket_connections", "Open chat WebSockets on this process.", ["dialect"]
)
ROOM_MEMBERS = Gauge(
    "parley_room_members",
    "Sockets in this process's room feeds (equal to the open connections, joining ones aside).",
)
FRAMES_IN = Counter("parley_frames_in_total", "Text frames received from clients.")
FRAMES_OUT = Counter("parley_frames_out_total", "Frames sent to clients.")
MESSAGES_STORED = Counter("parley_messages_stored_total", "Messages persisted by workers.")
ERRORS = Counter("parley_errors_total", "Errors, by kind (the protocol's error codes).", ["kind"])
PERSIST_LATENCY = Histogram(
    "parley_persist_latency_seconds",
    "From an interface server receiving a message to its commit in Postgres.",
    buckets=LATENCY_BUCKETS,
)
BROADCAST_LATENCY = Histogram(
    "parley_broadcast_latency_seconds",
    "From a message's commit to its delivery by an interface server.",
    buckets=LATENCY_BUCKETS,
)
BATCH_SIZE = Histogram(
    "parley_persist_batch_size",
    "Messages per worker batch.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
GAP_FILLS = Counter("parley_gap_fills_total", "Sequence gaps filled from history.")


class PersistQueueCollector:
    """Reports the persist channel's depth, read from Redis at scrape time."""

    name = "parley_persist_queue_depth"
    documentation = "Messages waiting on the persist channel for a worker."

    def describe(self):
        """Name the metric without touching Redis (called at registration)."""
        return [GaugeMetricFamily(self.name, self.documentation)]

    def collect(self):
        """Read the depth; report nothing when Redis is not configured or unreachable."""
        try:
            depth = persist_queue_depth()
        except Exception:
            ERRORS.labels(kind="metrics_queue_depth").inc()
            return []
        if depth is None:
            return []
        return [GaugeMetricFamily(self.name, self.documentation, value=depth)]


REGISTRY.register(PersistQueueCollector())

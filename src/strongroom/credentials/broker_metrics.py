"""The broker's metrics. Labels are fixed vocabularies only: the upstream status
class and the outcome code (``ok`` or a ``BRKnnn``/other error code), never a key
name, host, caller or value."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "strongroom_broker_requests_total",
    "Brokered calls by upstream status class and outcome code",
    ["status_class", "outcome"],
)
ADDED_LATENCY = Histogram(
    "strongroom_broker_added_latency_seconds",
    "Time a brokered call spent in the broker itself (total minus the upstream exchange)",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)
UPSTREAM_LATENCY = Histogram(
    "strongroom_broker_upstream_duration_seconds",
    "Duration of the upstream exchange of a brokered call",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}


def status_class(status: int | None) -> str:
    return "none" if status is None else _CLASSES.get(status // 100, "other")


def observe(status: int | None, code: str | None, elapsed: float, upstream: float | None) -> None:
    REQUESTS.labels(status_class(status), code or "ok").inc()
    if upstream is not None:
        UPSTREAM_LATENCY.observe(upstream)
        ADDED_LATENCY.observe(max(elapsed - upstream, 0.0))

"""Prometheus metrics. Labels are fixed, low-cardinality names only: never a userId,
tenant, key id, value, or a failure reason that would make a decryption oracle
(decrypt failures are counted as one outcome, whatever went wrong).

With several ``serve`` workers, ``PROMETHEUS_MULTIPROC_DIR`` (set by ``serve``)
makes a scrape of any worker report the sum over all of them.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

HTTP_REQUESTS = Counter(
    "strongroom_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "strongroom_http_request_duration_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CRYPTO_ITEMS = Counter(
    "strongroom_crypto_items_total", "Items processed by key operations", ["operation", "outcome"]
)
KEY_CACHE = Counter("strongroom_key_cache_requests_total", "Key cache lookups", ["cache", "result"])

SECURITY_EVENTS = Counter(
    "strongroom_security_events_total", "Security events raised", ["rule", "severity"]
)

KMS_CALLS = Counter("strongroom_kms_calls_total", "KMS calls", ["backend", "operation", "outcome"])
KMS_LATENCY = Histogram(
    "strongroom_kms_call_duration_seconds",
    "KMS call latency, retries included",
    ["backend", "operation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
# 0 closed, 1 half-open, 2 open (the worst worker wins when multiprocess).
KMS_BREAKER = Gauge(
    "strongroom_kms_breaker_state",
    "KMS circuit breaker state",
    ["backend"],
    multiprocess_mode="max",
)

# The one per-object series: each monitored certificate's expiry (pki/monitor.py), by
# its SHA-256 fingerprint (the public identity of a public certificate, no tenant),
# bounded by pki.monitor.metrics_max_series (the soonest to expire).
CERTIFICATE_NOT_AFTER = Gauge(
    "strongroom_certificate_not_after_timestamp_seconds",
    "Expiry (notAfter, Unix seconds) of monitored certificates",
    ["fingerprint"],
    multiprocess_mode="livemax",
)

# Requests answered 503 SYS002 by admission control (api/admission.py), by reason:
# queue_full (answered at once) or queue_timeout (waited max_queue_wait).
ADMISSION_SHED = Counter(
    "strongroom_http_shed_total", "Requests shed by admission control", ["reason"]
)

SEALED_FAILURES = Counter(
    "strongroom_sealed_record_failures_total",
    "Stored sealed records (secrets, shares, CA keys) that failed to open: tampering",
)
AUDIT_RECORDS = Counter(
    "strongroom_audit_records_total", "Audit records by write outcome", ["outcome"]
)
# Records in this process's chain segment (multiprocess: each worker's own, summed).
AUDIT_CHAIN_LENGTH = Gauge(
    "strongroom_audit_chain_length",
    "Records in this writer's audit segment",
    multiprocess_mode="sum",
)
AUDIT_CHECKPOINTS = Counter("strongroom_audit_checkpoints_total", "Audit checkpoints written")
# Checkpoints copied outside the database (audit/anchors.py): sink file|webhook.
AUDIT_ANCHOR_WRITES = Counter(
    "strongroom_audit_anchor_writes_total",
    "Checkpoint anchor writes by sink and outcome",
    ["sink", "outcome"],
)

# Stored API keys (credentials/usage.py, credentials/anomaly.py). No key, tenant,
# caller or host label: kind is broker|reveal|denied, status_class 2xx..5xx|none|denied.
API_KEY_USES = Counter(
    "strongroom_api_key_uses_total", "Uses of stored API keys", ["kind", "status_class"]
)
API_KEY_USAGE_FLUSHES = Counter(
    "strongroom_api_key_usage_flushes_total", "Batched writes of usage counts", ["outcome"]
)
API_KEY_ANOMALY_BLOCKS = Counter(
    "strongroom_api_key_anomaly_blocks_total",
    "Stored keys blocked automatically by an anomaly rule",
    ["rule", "outcome"],
)


def render() -> tuple[bytes, str]:
    """The exposition text for a scrape, aggregated over workers when multiprocess."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST

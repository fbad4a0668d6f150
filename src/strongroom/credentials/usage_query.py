"""What the usage route answers (``GET /api/v1/projects/{p}/api-keys/{k}/usage``):
a stored key's uses per hour or day over a range, broken down by kind, status class,
caller and upstream host, with its last use and recent source addresses; and the
``UsageFacts`` the approvals risk score asks (credentials/contract.py).

Counts are exact: the database's rows plus this replica's buffered uses, read under
the recorder's lock so that no flush moves a batch between the two reads. Other
replicas' uses appear once they flush (``usage.flush_interval_seconds``). Day totals
are sums of hours (UTC days).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from strongroom.audit.actions import SECURITY_PREFIX
from strongroom.context import Actor
from strongroom.credentials.contract import KeyDirectory
from strongroom.credentials.usage import Bucket, UsageRecorder
from strongroom.credentials.usage_errors import (
    InvalidGranularity,
    InvalidUsageRange,
    UsageUnavailable,
)
from strongroom.store import usage_repo
from strongroom.store.db import Database
from strongroom.store.tenancy import system_scope

HOUR, DAY = timedelta(hours=1), timedelta(days=1)  # the two granularities
STEPS = {"hour": HOUR, "day": DAY}
MAX_BUCKETS = {"hour": 24 * 31, "day": 366}
DEFAULT_SPAN = {"hour": timedelta(hours=24), "day": timedelta(days=30)}
TOP = 100  # callers and hosts listed (the busiest)
ANOMALY_PREFIX = SECURITY_PREFIX + "usage."


def subject_of(key_id: int) -> str:
    """How security events and their records name a stored key (``target``)."""
    return f"api-key:{key_id}"


@dataclass(frozen=True)
class UsageBucket:
    start: datetime
    count: int
    by_status: dict[str, int]


@dataclass(frozen=True)
class LastUse:
    at: datetime
    caller: str
    source: str | None


@dataclass(frozen=True)
class SourceSeen:
    address: str
    first_seen: datetime
    last_seen: datetime


@dataclass
class UsageReport:
    project: str
    key: str
    start: datetime
    end: datetime
    granularity: str
    buckets: list[UsageBucket]
    by_kind: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    by_caller: list[tuple[str, int]] = field(default_factory=list)
    by_host: list[tuple[str, int]] = field(default_factory=list)
    last_used: LastUse | None = None
    sources: list[SourceSeen] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(b.count for b in self.buckets)


def parse_instant(text: str | None) -> datetime | None:
    """ISO 8601; a time without an offset is UTC. USG001 when unreadable."""
    if text is None or text == "":
        return None
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidUsageRange(field="from/to") from None


def _floor(at: datetime, granularity: str) -> datetime:
    at = at.replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0) if granularity == "day" else at


def window(
    start: str | None, end: str | None, granularity: str, now: datetime
) -> tuple[datetime, datetime]:
    """The range [start, end) aligned to whole buckets, checked (USG001, USG002)."""
    if granularity not in STEPS:
        raise InvalidGranularity()
    step = STEPS[granularity]
    try:
        to = parse_instant(end) or now
        frm = parse_instant(start) or to - DEFAULT_SPAN[granularity]
        lo, hi = _floor(frm, granularity), _floor(to, granularity)
        if hi < to:
            hi += step
    except OverflowError:  # at the calendar's edge
        raise InvalidUsageRange(field="from/to") from None
    if frm >= to:
        raise InvalidUsageRange(field="from", reason="from must be before to")
    if (hi - lo) / step > MAX_BUCKETS[granularity]:
        raise InvalidUsageRange(field="to", maxBuckets=MAX_BUCKETS[granularity])
    return lo, hi


class UsageQueries:
    """The read side of usage analytics, and ``UsageFacts``."""

    def __init__(
        self,
        db: Database,
        recorder: UsageRecorder,
        recent_sources: int = 20,
        directory: KeyDirectory | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db, self._recorder, self._recent = db, recorder, recent_sources
        # The stored keys' directory (names -> key ids), wired by the services.
        self.directory = directory
        self._clock = clock

    async def usage(
        self,
        actor: Actor,
        project: str,
        key: str,
        start: str | None,
        end: str | None,
        granularity: str,
    ) -> UsageReport:
        """The caller has ``api-keys:read`` on the key (checked by the edge)."""
        lo, hi = window(start, end, granularity, self._clock())
        if self.directory is None:
            raise UsageUnavailable()
        summary = await self.directory.describe(actor, project, key)
        tenant, key_id = summary.tenant, summary.key_id
        async with self._recorder.exact():
            rows: list[tuple[Bucket, int]] = [
                (b, n) for b, n in self._recorder.pending_counts(tenant, key_id) if lo <= b[2] < hi
            ]
            pending = self._recorder.pending_sources(tenant, key_id)
            async with self._db.read() as s:
                for r in await usage_repo.hours(s, tenant, key_id, lo, hi):
                    bucket = (tenant, key_id, r.hour, r.kind, r.caller, r.host, r.status_class)
                    rows.append((bucket, r.count))
                stored = await usage_repo.sources(s, tenant, key_id, self._recent)
        report = _report(project, key, lo, hi, granularity, rows)
        seen = {r.source: SourceSeen(r.source, r.first_at, r.last_at) for r in stored}
        last = {r.source: r.last_caller for r in stored}
        for source, p in pending:
            old = seen.get(source)
            if old is None or p.last > old.last_seen:
                first = min(p.first, old.first_seen) if old else p.first
                seen[source], last[source] = SourceSeen(source, first, p.last), p.caller
        ordered = sorted(seen.values(), key=lambda x: (x.last_seen, x.address), reverse=True)
        if ordered:
            newest = ordered[0]
            report.last_used = LastUse(
                newest.last_seen, last[newest.address], newest.address or None
            )
        report.sources = [s for s in ordered if s.address][: self._recent]
        return report

    # --- UsageFacts (credentials/contract.py) ---------------------------------------------
    async def anomalies_since(self, tenant: str, key_id: int, since: datetime) -> int:
        """Anomaly episodes raised on the key since ``since`` (their audit records)."""
        with system_scope():
            async with self._db.read() as s:
                return await usage_repo.anomalies(
                    s, tenant, subject_of(key_id), since, ANOMALY_PREFIX
                )

    async def has_used(self, tenant: str, key_id: int, caller: str) -> bool:
        if self._recorder.pending_caller(tenant, key_id, caller):
            return True
        with system_scope():
            async with self._db.read() as s:
                return await usage_repo.has_used(s, tenant, key_id, caller)


def _report(
    project: str,
    key: str,
    lo: datetime,
    hi: datetime,
    granularity: str,
    rows: list[tuple[Bucket, int]],
) -> UsageReport:
    step = STEPS[granularity]
    counts: dict[datetime, Counter[str]] = {}
    kinds: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    callers: Counter[str] = Counter()
    hosts: Counter[str] = Counter()
    for (_, _, hour, kind, caller, host, cls), n in rows:
        counts.setdefault(_floor(hour, granularity), Counter())[cls] += n
        kinds[kind] += n
        statuses[cls] += n
        callers[caller] += n
        if host:
            hosts[host] += n
    buckets = []
    at = lo
    while at < hi:
        by = counts.get(at, Counter())
        buckets.append(UsageBucket(at, sum(by.values()), dict(sorted(by.items()))))
        at += step
    return UsageReport(
        project,
        key,
        lo,
        hi,
        granularity,
        buckets,
        dict(sorted(kinds.items())),
        dict(sorted(statuses.items())),
        callers.most_common(TOP),
        hosts.most_common(TOP),
    )

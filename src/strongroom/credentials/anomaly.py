"""Anomaly rules over the uses of stored API keys (docs/usage-analytics.md).

``AnomalyDetector.observe(use)`` is one of the recorder's observers
(credentials/usage.py): it runs on the broker's call path, before the use is
counted, so it only touches memory; anything that needs the database (is this caller
or address new? what are the key's usual hours?) runs in a background task, at most
``MAX_CHECKS`` at once. Rules (thresholds are settings, ``usage`` section):

* ``usage.rate`` — uses in a window above both ``rate_min_uses`` and ``rate_factor``
  x the key's baseline (an exponentially weighted mean of its previous windows);
* ``usage.new_caller`` / ``usage.new_source`` — a principal / an address never seen
  with the key (in this replica's buffer or the database), once the key has been used
  at all (its first caller and address are quiet);
* ``usage.off_hours`` — a use in an hour of the day (UTC) holding at most
  ``off_hours_max_share`` of the key's history, once it holds ``off_hours_min_uses``;
* ``usage.upstream_auth`` / ``usage.errors`` — ``upstream_auth_threshold`` upstream
  401/403, ``error_threshold`` 5xx or unanswered calls, within ``burst_window_seconds``;
* ``usage.denied_host`` — a broker request refused before it left (UseKind.DENIED).

Episodes: a rule trips on a subject (the key; the key and caller or address for the
"new" rules); the first trip opens an episode and raises ONE security event; every
later trip within ``episode_quiet_seconds`` of the previous one extends it silently.
Across replicas the opening is a once-per-period claim in the shared counters (Redis,
or the database: store/cluster.py, as audit/shared_rules.py does for
``auth.failures``), so N replicas raise one event. Counts and baselines are each
replica's own (no write per use): with N replicas behind a balancer a rate or burst
is seen per replica, i.e. thresholds act per replica; except upstream 401/403 and
error bursts when Redis is configured: those answers are counted in Redis (a round
trip per such answer, never a database write), so a burst spread over replicas adds
up as ``auth.failures`` does.

Times are the uses' own (``Use.at``): rules are deterministic over given traffic.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from cachetools import LRUCache

from strongroom.audit.actions import SecurityRule
from strongroom.audit.events import SEVERITY, SecurityEvent
from strongroom.config.usage import UsageSettings
from strongroom.credentials.contract import KeyDirectory, Use, UseKind
from strongroom.credentials.usage import UsageRecorder, hour_of
from strongroom.credentials.usage_query import subject_of
from strongroom.observability.metrics import API_KEY_ANOMALY_BLOCKS
from strongroom.store import usage_repo
from strongroom.store.cluster import SharedCounters
from strongroom.store.db import Database
from strongroom.store.tenancy import system_context, system_scope

log = structlog.get_logger("strongroom.credentials")

MAX_KEYS = 50_000  # keys whose state is remembered (LRU)
MAX_KNOWN = 1000  # callers / addresses remembered per key
MAX_CHECKS = 1000  # database checks in flight; more are skipped (logged)
RULES: dict[str, SecurityRule] = {
    "rate": SecurityRule.USAGE_RATE,
    "new_caller": SecurityRule.USAGE_NEW_CALLER,
    "new_source": SecurityRule.USAGE_NEW_SOURCE,
    "off_hours": SecurityRule.USAGE_OFF_HOURS,
    "upstream_auth": SecurityRule.USAGE_UPSTREAM_AUTH,
    "errors": SecurityRule.USAGE_ERRORS,
    "denied_host": SecurityRule.USAGE_DENIED_HOST,
}
NAMES = {rule: name for name, rule in RULES.items()}


class Raiser(Protocol):
    """Where events go (audit/alerts.py ``SecurityAlerts``: record, metric, webhook)."""

    async def raise_events(self, events: list[SecurityEvent]) -> None: ...


@dataclass
class _Key:
    window: int = -1  # the rate window's index (epoch seconds // length)
    count: int = 0
    baseline: float = 0.0
    history: bool = False  # a previous window was seen
    auth: deque[float] = field(default_factory=deque)
    errors: deque[float] = field(default_factory=deque)
    callers: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    hours: set[datetime] = field(default_factory=set)  # hours checked for off_hours


class AnomalyDetector:
    def __init__(
        self,
        settings: UsageSettings,
        db: Database,
        recorder: UsageRecorder,
        alerts: Raiser,
        counters: SharedCounters | None = None,
        directory: KeyDirectory | None = None,
        burst_counters: SharedCounters | None = None,
    ) -> None:
        self.s, self._db, self._rec, self._alerts = settings, db, recorder, alerts
        self._counters = counters
        # Where 401/403 and error bursts are counted across replicas (Redis: a round trip
        # per such answer, no database write); None: each replica counts its own.
        self._burst_counters = burst_counters
        self.directory = directory  # for the optional automatic block
        self._off = {RULES[name] for name in settings.disabled_rules}
        self._block = {RULES[name] for name in settings.auto_block}
        self._keys: LRUCache[tuple[str, int], _Key] = LRUCache(MAX_KEYS)
        self._episodes: LRUCache[tuple[SecurityRule, str, int, str], datetime] = LRUCache(MAX_KEYS)
        self._tasks: set[asyncio.Task[None]] = set()

    # --- the per-call path: memory only ------------------------------------------------
    def observe(self, use: Use) -> None:
        k = self._keys.get((use.tenant, use.key_id))
        if k is None:
            k = self._keys[(use.tenant, use.key_id)] = _Key()
        now = use.at.timestamp()
        self._rate(k, use, now)
        if use.kind is UseKind.DENIED:
            self._trip(SecurityRule.USAGE_DENIED_HOST, use, "", [use.host or "-"])
        elif use.kind is UseKind.BROKER:
            if use.status in (401, 403):
                self._burst(SecurityRule.USAGE_UPSTREAM_AUTH, k, use, now)
            elif use.status is None or use.status >= 500:
                self._burst(SecurityRule.USAGE_ERRORS, k, use, now)
        if use.caller not in k.callers and len(k.callers) < MAX_KNOWN:
            k.callers.add(use.caller)
            if not self._rec.pending_caller(use.tenant, use.key_id, use.caller):
                any_before = self._rec.pending_caller(use.tenant, use.key_id, None)
                self._check(self._new_caller(use, any_before, self._rec.flushes))
        if use.source and use.source not in k.sources and len(k.sources) < MAX_KNOWN:
            k.sources.add(use.source)
            if not self._rec.pending_source(use.tenant, use.key_id, use.source):
                any_before = self._rec.pending_source(use.tenant, use.key_id, None)
                self._check(self._new_source(use, any_before))
        hour = hour_of(use.at)
        if hour not in k.hours:
            if len(k.hours) >= 48:
                k.hours.clear()
            k.hours.add(hour)
            self._check(self._off_hours(use, hour))

    def _rate(self, k: _Key, use: Use, now: float) -> None:
        length = self.s.rate_window_seconds
        window = int(now // length)
        if window != k.window:
            if k.window >= 0 and window > k.window:
                k.baseline = 0.7 * k.baseline + 0.3 * k.count
                k.baseline *= 0.7 ** min(window - k.window - 1, 10)  # idle windows
                k.history = True
            k.window, k.count = window, 0
        k.count += 1
        limit = max(self.s.rate_min_uses, self.s.rate_factor * k.baseline)
        if k.history and k.count > limit:
            self._trip(SecurityRule.USAGE_RATE, use, "", [k.count, round(k.baseline, 1), length])

    def _burst(self, rule: SecurityRule, k: _Key, use: Use, now: float) -> None:
        if self._burst_counters is not None:
            self._check(self._shared_burst(self._burst_counters, rule, k, use, now))
        else:
            self._local_burst(rule, k, use, now)

    def _local_burst(self, rule: SecurityRule, k: _Key, use: Use, now: float) -> None:
        times = k.auth if rule is SecurityRule.USAGE_UPSTREAM_AUTH else k.errors
        times.append(now)
        while times and times[0] <= now - self.s.burst_window_seconds:
            times.popleft()
        self._burst_count(rule, use, len(times))

    async def _shared_burst(
        self, counters: SharedCounters, rule: SecurityRule, k: _Key, use: Use, now: float
    ) -> None:
        name = f"usage-burst:{rule}:{use.tenant}:{use.key_id}"
        try:
            count = await counters.add(name, self.s.burst_window_seconds, now)
        except Exception as exc:  # the shared store away: this replica counts alone
            log.warning("usage_shared_counts_unavailable", error_type=type(exc).__name__)
            self._local_burst(rule, k, use, now)
            return
        self._burst_count(rule, use, count)

    def _burst_count(self, rule: SecurityRule, use: Use, count: int) -> None:
        threshold = (
            self.s.upstream_auth_threshold
            if rule is SecurityRule.USAGE_UPSTREAM_AUTH
            else self.s.error_threshold
        )
        if count >= threshold:
            self._trip(rule, use, "", [count, self.s.burst_window_seconds])

    # --- checks that read the database (background) -------------------------------------
    async def _new_caller(self, use: Use, any_before: bool, flushes: int) -> None:
        with system_scope():
            async with self._rec.exact(), self._db.read() as s:
                # Unless a flush wrote this very use since it was observed, the database
                # holds only earlier uses; else only earlier hours are sure to be earlier.
                before = None if self._rec.flushes == flushes else hour_of(use.at)
                known = await usage_repo.has_used(s, use.tenant, use.key_id, use.caller, before)
                used = any_before or await usage_repo.has_used(
                    s, use.tenant, use.key_id, None, before
                )
        if used and not known:
            self._trip(SecurityRule.USAGE_NEW_CALLER, use, use.caller, [use.caller])

    async def _new_source(self, use: Use, any_before: bool) -> None:
        source = str(use.source)
        with system_scope():
            async with self._db.read() as s:
                known = await usage_repo.seen_source(s, use.tenant, use.key_id, source, use.at)
                used = any_before or await usage_repo.seen_source(
                    s, use.tenant, use.key_id, None, use.at
                )
        if used and not known:
            self._trip(SecurityRule.USAGE_NEW_SOURCE, use, source, [source])

    async def _off_hours(self, use: Use, hour: datetime) -> None:
        since = hour - timedelta(days=self.s.off_hours_days)
        with system_scope():
            async with self._db.read() as s:
                rows = await usage_repo.hour_totals(s, use.tenant, use.key_id, since)
        by_hour = [0] * 24
        for at, n in rows:
            if at < hour:  # the current hour's own uses do not make it usual
                by_hour[at.hour] += n
        total = sum(by_hour)
        if total >= self.s.off_hours_min_uses and by_hour[hour.hour] <= (
            self.s.off_hours_max_share * total
        ):
            self._trip(SecurityRule.USAGE_OFF_HOURS, use, "", [f"{hour.hour:02d}:00Z", total])

    def _check(self, work: Coroutine[Any, Any, None]) -> None:
        if len(self._tasks) >= MAX_CHECKS:
            work.close()
            log.warning("usage_anomaly_check_skipped")
            return
        self._spawn(work)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            work.close()
            return
        task = loop.create_task(self._guarded(work), context=system_context())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception as exc:  # a rule must never fail a call, nor crash its task
            log.warning("usage_anomaly_check_failed", error_type=type(exc).__name__)

    # --- episodes, events, blocks ---------------------------------------------------------
    def _trip(self, rule: SecurityRule, use: Use, sub: str, facts: list[Any]) -> None:
        if rule in self._off:
            return
        episode = (rule, use.tenant, use.key_id, sub)
        last = self._episodes.get(episode)
        self._episodes[episode] = max(use.at, last) if last else use.at
        if last is not None and (use.at - last).total_seconds() < self.s.episode_quiet_seconds:
            return  # the episode goes on: already raised
        self._spawn(self._open(rule, use, sub, facts))

    async def _open(self, rule: SecurityRule, use: Use, sub: str, facts: list[Any]) -> None:
        if self._counters is not None:
            name = f"usage:{rule}:{use.tenant}:{use.key_id}:{sub}"
            quiet = self.s.episode_quiet_seconds
            if not await self._counters.once(name, quiet, use.at.timestamp()):
                return  # another replica opened this episode
        kind = "clientAddr" if rule is SecurityRule.USAGE_NEW_SOURCE else None
        detail = {"trigger": "usage", "request_id": "-", "facts": facts}
        event = SecurityEvent(
            rule, SEVERITY[rule], subject_of(use.key_id), use.tenant, detail, facts_kind=kind
        )
        await self._alerts.raise_events([event])
        if rule in self._block:
            await self._auto_block(rule, use)

    async def _auto_block(self, rule: SecurityRule, use: Use) -> None:
        if self.directory is None:
            API_KEY_ANOMALY_BLOCKS.labels(str(rule), "unavailable").inc()
            return
        try:
            await self.directory.block(use.tenant, use.key_id, f"anomaly: {rule}")
        except Exception as exc:
            log.error("usage_anomaly_block_failed", rule=str(rule), error_type=type(exc).__name__)
            API_KEY_ANOMALY_BLOCKS.labels(str(rule), "failure").inc()
            return
        API_KEY_ANOMALY_BLOCKS.labels(str(rule), "success").inc()

    async def drain(self) -> None:
        """Wait for checks and events in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

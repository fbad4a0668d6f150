"""Composes the services from the domains' ``build_*`` factories, each given its
settings section. The one place that wires domains together."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime

from strongroom.access.factory import build_access, build_limits
from strongroom.access.guard import Guard
from strongroom.access.lifecycle import AccessKeyAdmin
from strongroom.access.limits import RateLimits
from strongroom.access.mtls import ClientCertificates, build_client_certificates
from strongroom.access.page_sessions import PageSessions
from strongroom.access.policy import Authenticator, build_authenticator
from strongroom.access.roles import RoleService
from strongroom.access.service import AccessService
from strongroom.approvals.factory import Approvals, build_approvals
from strongroom.audit.alerts import SecurityAlerts
from strongroom.audit.factory import build_audit
from strongroom.audit.queries import AuditQueries
from strongroom.audit.service import AuditLog
from strongroom.config import Settings
from strongroom.credentials.anomaly import AnomalyDetector
from strongroom.credentials.broker import Broker
from strongroom.credentials.broker_factory import build_broker
from strongroom.credentials.factory import StoredKeys, build_stored_keys
from strongroom.credentials.projects import ProjectService
from strongroom.credentials.resolver import Directory, KeyResolver
from strongroom.credentials.rotation import Rotation
from strongroom.credentials.service import ApiKeyService
from strongroom.credentials.usage import UsageRecorder
from strongroom.credentials.usage_query import UsageQueries
from strongroom.datakeys import Sealer
from strongroom.idempotency import Idempotency
from strongroom.keys.blind_index import BlindIndex
from strongroom.keys.factory import build_keys
from strongroom.keys.feed import ChangeFeed
from strongroom.keys.hints import RedisHints
from strongroom.keys.lifecycle import LifecycleService
from strongroom.keys.rotation import RotationService
from strongroom.keys.service import KeyService
from strongroom.keys.statement import KeyStatements
from strongroom.kms.factory import build_kms
from strongroom.kms.interfaces import Kms
from strongroom.pki.authority import CertificateAuthorities
from strongroom.pki.factory import Pki, build_pki
from strongroom.pki.inventory import CertificateInventory
from strongroom.pki.monitor import ExpiryMonitor
from strongroom.secrets.factory import Vault, build_secrets
from strongroom.secrets.lifecycle import SecretLifecycle
from strongroom.secrets.listing import SecretListing
from strongroom.secrets.service import SecretService
from strongroom.secrets.shares import ShareService
from strongroom.secrets.shares_factory import build_shares
from strongroom.secrets.shares_jobs import purge_job
from strongroom.services.approvals_facts import CredentialFacts
from strongroom.services.credentials import MayUse
from strongroom.services.jobs import JobRunner
from strongroom.store import cluster
from strongroom.store.db import Database
from strongroom.store.migrate import upgrade
from strongroom.store.notices import Notices
from strongroom.store.tenancy import ALL, enter_system_scope, set_tenant

START_LOCK = 0x53524F4F4D  # the advisory lock of exclusive_start ("SROOM")

# enter_system_scope: for the app lifespan (api/app.py), which holds no store import.
__all__ = ["Services", "build_limits", "build_services", "enter_system_scope", "scope_to_tenant"]


@dataclass
class Services:
    settings: Settings
    db: Database
    kms: Kms
    audit: AuditLog
    access: AccessService
    keys: KeyService
    rotation: RotationService
    lifecycle: LifecycleService
    feed: ChangeFeed
    alerts: SecurityAlerts
    audit_queries: AuditQueries
    limits: RateLimits
    # Seals secrets, shares, CA keys, stored API keys under per-tenant data keys.
    sealer: Sealer
    notices: Notices  # once-only reminders and alerts across replicas
    shares: ShareService  # shares of one value (secrets/shares.py)
    statements: KeyStatements  # signed public keys (keys/statement.py)
    blind_index: BlindIndex  # equality tokens for encrypted fields (keys/blind_index.py)
    # Stored API keys' usage: the broker's and reveal path's UsageSink (credentials/usage.py).
    usage: UsageRecorder
    hints: RedisHints | None = None
    mtls: ClientCertificates | None = None  # client certificates (access/mtls.py)
    # Authentication policy over access keys, bearer tokens, mTLS (access/policy.py).
    auth: Authenticator = field(init=False)
    # What every transport calls before a service (access/guard.py).
    guard: Guard = field(init=False)
    # The secrets vault (secrets/), over the sealer and the notices.
    vault: Vault = field(init=False)
    # Certificates (pki/): inventory, expiry monitor, internal CA.
    pki: Pki = field(init=False)
    # Stored third-party API keys (credentials/): projects, keys, rotation, the
    # resolver the broker uses and the directory approvals use.
    stored_keys: StoredKeys = field(init=False)
    # MCP access for agents (approvals/): .tools, .policies, .requests, .sessions.
    approvals: Approvals = field(init=False)
    # Scheduled jobs, once per period cluster-wide (services/jobs.py); domains
    # register theirs here: ``jobs.register(name, run_once, interval_seconds)``.
    jobs: JobRunner = field(init=False)
    # Reads of stored keys' usage and the UsageFacts of the risk score; its
    # ``directory`` (names -> key ids) is the stored keys' KeyDirectory.
    usage_queries: UsageQueries = field(init=False)
    # Anomaly rules over every use (credentials/anomaly.py); its ``directory`` blocks
    # keys when a rule's automatic block is on.
    anomalies: AnomalyDetector = field(init=False)
    # The credential broker (credentials/broker.py): the ``BrokerPort`` the broker
    # routes and the MCP server call; its key resolver and usage sink are wired below.
    broker: Broker = field(init=False)
    # Idempotency-Key on writes (api/idempotency.py): first answers, sealed.
    idempotency: Idempotency = field(init=False)
    # Sign-ins of the approvals page, in the database: one set for every replica.
    page_sessions: PageSessions = field(init=False)

    def __post_init__(self) -> None:
        self.idempotency = Idempotency(self.settings.idempotency, self.db, self.sealer)
        self.page_sessions = PageSessions(self.db)
        self.auth = build_authenticator(self.settings.auth, self.db, self.access, self.audit)
        self.guard = Guard(self.auth, self.limits, self.audit, self.mtls, self.alerts)
        self.vault = build_secrets(
            self.settings.secrets, self.db, self.sealer, self.audit, self.notices, self.alerts
        )
        # Shares of vault versions: read through the vault, and gone with their version.
        self.shares.source = self.vault.service
        self.vault.core.on_gone.append(self.shares.delete_for_version)
        self.pki = build_pki(
            self.settings.pki, self.db, self.audit, self.sealer, self.notices, self.alerts
        )
        self.stored_keys = build_stored_keys(
            self.settings.api_keys,
            self.db,
            self.sealer,
            self.audit,
            self.notices,
            self.alerts,
            MayUse(self.db, self.access),
        )
        # Reveals are uses too; the usage route and automatic blocks find keys by name.
        self.stored_keys.core.usage = self.usage
        directory = self.stored_keys.directory
        self.usage_queries = UsageQueries(
            self.db, self.usage, self.settings.usage.recent_sources, directory
        )
        # Episodes open once cluster-wide where auth.failures is counted cluster-wide.
        shared = self.alerts.shared.counters if self.alerts.shared is not None else None
        self.anomalies = AnomalyDetector(
            self.settings.usage,
            self.db,
            self.usage,
            self.alerts,
            shared,
            directory,
            # 401/403 and error bursts add up across replicas in Redis (no database
            # write per use); without Redis each replica counts its own.
            burst_counters=shared if self.settings.redis.url else None,
        )
        if self.settings.usage.anomaly_enabled:
            self.usage.observers.append(self.anomalies.observe)
        # The risk score's KeyFacts / AnomalyFacts: the stored keys and their usage.
        facts = CredentialFacts(self.stored_keys.directory, self.usage_queries)
        self.approvals = build_approvals(
            self.settings.approvals,
            self.db,
            self.audit,
            facts,
            facts,
            self.alerts.raise_later,
            default_audience=self.settings.mcp.resource_url,  # sessions: the MCP resource
        )
        self.jobs = build_jobs(self)
        self.broker = build_broker(
            self.settings.broker, self.audit, self.stored_keys.resolver, self.usage
        )

    # What edges call, one service each (never reached through another's attributes).
    @property
    def access_keys(self) -> AccessKeyAdmin:
        return self.access.admin

    @property
    def roles(self) -> RoleService:
        return self.access.roles

    @property
    def secrets(self) -> SecretService:
        return self.vault.service

    @property
    def secret_lifecycle(self) -> SecretLifecycle:
        return self.vault.lifecycle

    @property
    def secret_listing(self) -> SecretListing:
        return self.vault.listing

    @property
    def certificates(self) -> CertificateInventory:
        return self.pki.inventory

    @property
    def certificate_monitor(self) -> ExpiryMonitor:
        return self.pki.monitor

    @property
    def authorities(self) -> CertificateAuthorities:
        return self.pki.authorities

    @property
    def projects(self) -> ProjectService:
        return self.stored_keys.projects

    @property
    def api_keys(self) -> ApiKeyService:
        return self.stored_keys.keys

    @property
    def api_key_rotation(self) -> Rotation:
        return self.stored_keys.rotation

    @property
    def api_key_use(self) -> KeyResolver:
        """``TargetResolver`` (credentials/contract.py): the broker's ``for_use``."""
        return self.stored_keys.resolver

    @property
    def key_directory(self) -> Directory:
        """``KeyDirectory`` (credentials/contract.py): usable, describe, block."""
        return self.stored_keys.directory

    async def start(self, *, migrate: bool = False) -> None:
        if migrate:
            await upgrade(self.db)
        await self.audit.start()  # opens this process's audit segment
        await self.access.load_pepper()

    def exclusive_start(self) -> AbstractAsyncContextManager[None]:
        """Start-up work one replica at a time across the cluster (the bootstrap admin
        key: replicas that start together must not each create and print one)."""
        return self.db.exclusive(START_LOCK)

    async def readiness(self) -> tuple[bool, dict[str, bool]]:
        """(ready, checks). Redis is optional: down means slower, so it is reported
        but does not make the replica unready; the database and the KMS do."""
        checks = {"database": await self.db.ping(), "kms": await self.kms.health()}
        ready = all(checks.values())
        if self.hints is not None:
            checks["redis"] = await self.hints.ping()
        checks["key_cache_trusted"] = self.feed.trusted()
        return ready, checks

    async def close(self) -> None:
        await self.access.close()  # writes the buffered "last used" times
        await self.usage.close()  # writes the buffered stored-key usage counts
        await self.anomalies.drain()  # their checks and events in flight
        await self.auth.close()
        await self.alerts.close()  # in-flight webhooks, then the shared HTTP client
        await self.broker.aclose()  # pooled upstream connections
        if self.hints is not None:
            await self.hints.close()
        await self.keys.core.cache.close()
        await self.stored_keys.resolver.close()
        await self.sealer.close()
        await self.limits.close()
        await self.audit.close()
        await self.kms.close()
        await self.db.dispose()


def build_services(
    settings: Settings, kms: Kms | None = None, audit_class: type[AuditLog] = AuditLog
) -> Services:
    """Compose the domains, each from its settings section. ``kms`` and ``audit_class``
    are injection points for tests and benchmarks (e.g. bench/'s null audit sink)."""
    db = Database(settings.database.url)
    kms = kms or build_kms(settings.kms)
    audit, alerts = build_audit(
        settings.audit, settings.security_events, db, kms, audit_class, settings.redis.url
    )
    keys = build_keys(settings.keys, settings.redis.url, db, kms, audit)
    sealer = Sealer(db, kms)
    return Services(
        settings=settings,
        db=db,
        kms=kms,
        audit=audit,
        access=build_access(settings.access, db, kms, audit),
        keys=keys.service,
        rotation=keys.rotation,
        lifecycle=keys.lifecycle,
        feed=keys.feed,
        alerts=alerts,
        audit_queries=AuditQueries(db, kms, audit),
        hints=keys.hints,
        statements=keys.statements,
        blind_index=keys.blind_index,
        limits=build_limits(settings.limits, settings.redis.url),
        sealer=sealer,
        notices=Notices(db),
        shares=build_shares(settings.shares, settings.compliance, db, kms, audit, sealer),
        mtls=build_client_certificates(settings.tls, settings.mtls, settings.auth),
        usage=UsageRecorder(db, settings.usage),
    )


def build_jobs(svc: Services) -> JobRunner:
    """The scheduled jobs every replica offers to run (each runs once per period
    cluster-wide): due rotations and destructions, the purge of expired shared
    counters, the vault's expiry reminders, the end of expired shares and the
    certificate expiry monitor."""
    runner = JobRunner(svc.db, svc.audit)
    interval = svc.settings.keys.scheduler.interval_seconds
    runner.register("keys.rotate_due", svc.lifecycle.rotate_due, interval)
    runner.register("keys.destroy_due", svc.lifecycle.destroy_due, interval)

    async def purge(now: datetime) -> int:
        return await cluster.purge_expired(svc.db, now)

    runner.register("cluster.purge", purge, 300.0)
    vault = svc.settings.secrets
    if vault.reminders_enabled:  # each reminder is also claimed once (store/notices.py)
        runner.register(
            "secrets.reminders", svc.vault.reminders.run_once, vault.reminder_interval_seconds
        )
    runner.register(
        "shares.purge", purge_job(svc.shares), svc.settings.shares.purge_interval_seconds
    )
    stored = svc.settings.api_keys
    if stored.reminders_enabled:  # each reminder is claimed once (store/notices.py)
        runner.register(
            "api_keys.reminders",
            svc.stored_keys.reminders.run_once,
            stored.reminder_interval_seconds,
        )
    monitor = svc.settings.pki.monitor
    if monitor.enabled:  # certificate expiry alerts (pki/monitor.py)
        runner.register(
            "certificates.expiry", svc.certificate_monitor.run_job, monitor.interval_seconds
        )
    usage = svc.settings.usage  # stored keys' usage past its retention
    runner.register("usage.purge", svc.usage.purge, usage.purge_interval_seconds)
    runner.register(
        "approvals.expire",
        expire_job(svc.approvals, svc.page_sessions),
        svc.settings.approvals.expire_interval_seconds,
    )
    runner.register(
        "idempotency.purge",
        svc.idempotency.purge,
        svc.settings.idempotency.purge_interval_seconds,
    )
    return runner


def expire_job(approvals: Approvals, pages: PageSessions) -> Callable[[datetime], Awaitable[int]]:
    """Pending MCP access requests past their deadline become expired (a denial); the
    approvals page's expired sign-in sessions are deleted."""

    async def run(now: datetime) -> int:
        expired = await approvals.requests.expire_due(now, f"job-{os.urandom(8).hex()}")
        return expired + await pages.purge(now)

    return run


def scope_to_tenant(tenant: str | None) -> None:
    """Bind this request's database access to ``tenant`` (None: every tenant), which
    PostgreSQL enforces by row-level security (store/tenancy.py, migration 0007)."""
    set_tenant(ALL if tenant is None else tenant)

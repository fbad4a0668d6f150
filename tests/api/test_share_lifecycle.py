"""Shares over time and beside the vault: the purge job (expiry wipes the value,
ended rows go after ``keep_ended_days``), shares of a vault secret's version through
``SecretVersionSource`` (a fake here), and their deletion with that version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from strongroom.errors import NotFound
from strongroom.secrets.shares_jobs import run_once
from strongroom.store.models import AuditRecord, Share
from tests.api.conftest import App
from tests.api.share_helpers import SHARES, make_share, redeem, sealed_of, share_rows


class FakeVault:
    """Versions of secrets as the vault would hand them to shares."""

    def __init__(self) -> None:
        self.versions: dict[tuple[str, str, int], bytes] = {}

    async def read_for_share(self, tenant: str, path: str, version: int) -> bytes:
        try:
            return self.versions[(tenant, path, version)]
        except KeyError:
            raise NotFound() from None


async def test_expired_shares_are_wiped_then_purged(app: App) -> None:
    made = await make_share(app, expiresInSeconds=120)
    kept = await make_share(app, expiresInSeconds=7200)
    sid = made["share"]["id"]
    now = datetime.now(UTC)
    assert await run_once(app.services.shares, now) == (0, 0)
    assert await run_once(app.services.shares, now + timedelta(seconds=121)) == (1, 0)
    assert await sealed_of(app, sid) is None
    assert await sealed_of(app, kept["share"]["id"]) is not None
    assert (await app.get(f"{SHARES}/{sid}")).json()["state"] == "expired"
    assert (await redeem(app, made["token"])).status_code == 404
    # Listed for keep_ended_days (7), then deleted with its access log.
    later = now + timedelta(days=7, seconds=200)
    ended, deleted = await run_once(app.services.shares, later)
    assert (ended, deleted) == (1, 1)  # the kept one expires now; the first is deleted
    assert await share_rows(app) == 1
    assert (await app.get(f"{SHARES}/{sid}")).status_code == 404
    await app.services.alerts.drain()
    async with app.services.db.read() as s:
        q = select(AuditRecord.action, AuditRecord.actor).where(
            AuditRecord.action.in_(["share.end", "share.purge"])
        )
        records = sorted(set((await s.execute(q)).all()))
    assert records == [("share.end", "system:shares"), ("share.purge", "system:shares")]


async def test_an_expired_share_is_gone_before_the_job_runs(app: App) -> None:
    made = await make_share(app, expiresInSeconds=60)
    async with app.services.db.transaction() as s:
        await s.execute(update(Share).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert (await redeem(app, made["token"])).status_code == 404
    assert (await app.get(f"{SHARES}/{made['share']['id']}")).json()["state"] == "expired"


async def test_the_cluster_job_ends_expired_shares(app: App) -> None:
    """Registered with the job runner (services/jobs.py): once per period cluster-wide."""
    made = await make_share(app, expiresInSeconds=60)
    async with app.services.db.transaction() as s:
        await s.execute(update(Share).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert "shares.purge" in app.services.jobs.jobs
    ran = await app.services.jobs.run_due()
    assert ran.get("shares.purge") == 1
    assert await sealed_of(app, made["share"]["id"]) is None
    assert (await app.get(f"{SHARES}/{made['share']['id']}")).json()["state"] == "expired"

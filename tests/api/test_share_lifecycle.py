"""Shares over time and beside the vault: the purge job (expiry wipes the value,
ended rows go after ``keep_ended_days``), shares of a vault secret's version through
``SecretVersionSource`` (a fake here), and their deletion with that version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from strongroom.context import Actor
from strongroom.errors import InvalidInput, NotFound
from strongroom.secrets.shares_jobs import run_once
from strongroom.secrets.shares_models import NewShare
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


async def test_share_of_a_vault_version_and_its_deletion(app: App) -> None:
    vault = FakeVault()
    vault.versions[("default", "apps/billing/stripe", 3)] = b'{"key": "sk_live_canary"}'
    app.services.shares.source = vault
    shares = app.services.shares
    actor = Actor("key:creator", "default", "rid-create", None)
    try:
        new = NewShare(expires_in_seconds=600, views=2, source=("apps/billing/stripe", 3))
        a, token_a = await shares.create(actor, new, source_authorized=True)
        _, token_b = await shares.create(actor, new, source_authorized=True)
        other = await make_share(app)
        assert (a.source_path, a.source_version) == ("apps/billing/stripe", 3)
        r = await redeem(app, token_a)
        assert r.status_code == 200 and r.json()["value"] == '{"key": "sk_live_canary"}'
        with pytest.raises(NotFound):  # the vault's own error for a missing version
            missing = NewShare(expires_in_seconds=600, source=("apps/billing/stripe", 4))
            await shares.create(actor, missing, source_authorized=True)
        # The vault destroys version 3 (its "gone" hook): both of its shares go.
        destroyer = Actor("key:vault", "default", "rid-destroy", None)
        n = await shares.delete_for_version(destroyer, "default", "apps/billing/stripe", 3)
        assert n == 2 and await share_rows(app) == 1
        for token in (token_a, token_b):
            assert (await redeem(app, token)).status_code == 404
        assert (await redeem(app, other["token"])).status_code == 200
    finally:
        app.services.shares.source = None


async def test_vault_sources_are_refused_when_no_vault_is_wired(app: App) -> None:
    app.services.shares.source = None
    body = {"source": {"path": "a/b", "version": 1}, "expiresInSeconds": 60}
    r = await app.post(SHARES, body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "ENC001"
    actor = Actor("key:creator", "default", "rid", None)
    with pytest.raises(InvalidInput):
        new = NewShare(expires_in_seconds=600, source=("a/b", 1))
        await app.services.shares.create(actor, new, source_authorized=True)
    # Whatever the wiring, the service refuses a source its caller did not authorize.
    with pytest.raises(InvalidInput):
        await app.services.shares.create(actor, NewShare(expires_in_seconds=600, source=("a/b", 1)))


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

"""Migration 0008 on SQLite and PostgreSQL: revocations made before it (which named
the revoker's tenant, not the token's) apply in every tenant afterwards, so no token
revoked so far comes back; the same token may then be revoked per tenant; downgrade
keeps one revocation per token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from strongroom.access.revocation import RevokedTokens, token_id
from strongroom.audit.interfaces import AuditSink
from strongroom.store.db import Database
from strongroom.store.tenancy import system_scope
from tests.api.test_access_keys_migration import migrate

ISSUER = "https://idp.example.test/"
INSERT = text(
    "INSERT INTO revoked_tokens (id, issuer, expires_at, revoked_at, revoked_by, tenant_id)"
    " VALUES (:id, :iss, NULL, :t, 'admin', :tenant)"
)


def row(token: str, tenant: str) -> dict[str, object]:
    return {"id": token, "iss": ISSUER, "t": datetime.now(UTC), "tenant": tenant}


async def rows(db: Database) -> list[tuple[str, str]]:
    async with db.engine.connect() as conn:
        result = await conn.execute(text("SELECT id, tenant_id FROM revoked_tokens ORDER BY 1, 2"))
        return [(str(i), str(t)) for i, t in result]


async def test_old_revocations_apply_everywhere_and_downgrade_keeps_one(
    empty_database_url: str,
) -> None:
    db = Database(empty_database_url)
    old = token_id(ISSUER, "old-jti")
    await migrate(db, "0007")
    async with db.engine.begin() as conn:  # as 0004..0007 stored it: the revoker's tenant
        await conn.execute(INSERT, row(old, "x"))
    await migrate(db, "head")
    assert await rows(db) == [(old, "*")]
    revoked = RevokedTokens(db, cast(AuditSink, None))  # reads only: never audits
    with system_scope():
        assert await revoked.is_revoked(ISSUER, "old-jti", "globex")
        assert await revoked.is_revoked(ISSUER, "old-jti", "default")
        assert not await revoked.is_revoked(ISSUER, "other-jti", "default")
    new = token_id(ISSUER, "new-jti")
    async with db.engine.begin() as conn:
        for tenant in ("acme", "globex"):  # one token, revoked in two tenants
            await conn.execute(INSERT, row(new, tenant))
    with pytest.raises(IntegrityError):
        async with db.engine.begin() as conn:
            await conn.execute(INSERT, row(new, "acme"))

    await migrate(db, "0007", down=True)
    assert await rows(db) == sorted([(old, "*"), (new, "acme")])
    await migrate(db, "head")
    assert await rows(db) == sorted([(old, "*"), (new, "*")])
    await db.dispose()

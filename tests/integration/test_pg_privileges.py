"""Least privilege on PostgreSQL (issue #15, items 2 and 3): the serving role gets
exactly what serving needs from ``strongroom db grant-app`` / ``migrate --app-role``,
checked table by table; it can neither rewrite audit segment keys nor the schema
version; ``kms rewrap`` as the schema owner (a plain login, not a superuser) still
re-wraps every segment key."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from strongroom.audit.segments import segment_context
from strongroom.context import Actor
from strongroom.kms.interfaces import Wrapped
from strongroom.kms.local import LocalKms, create_master_key_file
from strongroom.services.container import Services, build_services
from strongroom.services.kms_rewrap import KmsRewrap
from strongroom.store import wrapped_repo
from strongroom.store.db import Database
from strongroom.store.migrate import upgrade
from strongroom.store.tenancy import enter_system_scope
from tests.api.conftest import make_settings
from tests.integration.test_cli import run_cli

pytestmark = pytest.mark.postgres
APP = "strongroom_app"
OWNER = "strongroom_owner"  # the schema owner: a plain login, neither superuser nor BYPASSRLS
RW = {"SELECT", "INSERT", "UPDATE", "DELETE"}
APPEND = {"SELECT", "INSERT"}
# Written out here, not imported: widening store/grants.py must fail this test.
EXPECTED = {
    "user_keys": RW,
    "user_key_versions": RW,
    "key_material": RW,
    "user_key_history": RW,
    "key_tombstones": RW,
    "shares": RW,
    "share_accesses": RW,
    "access_keys": RW,
    "custom_roles": RW,
    "secrets": RW,
    "secret_versions": RW,
    "secret_values": RW,
    "secret_meta": RW,
    "certificates": RW,
    "certificate_sans": RW,
    "certificate_keys": RW,
    "certificate_authorities": RW,
    "certificate_roles": RW,
    "projects": RW,
    "api_keys": RW,
    "api_key_values": RW,
    "cluster_leases": RW,
    "cluster_counters": RW,
    "api_key_usage_hours": RW,
    "api_key_usage_sources": RW,
    "mcp_tools": RW,
    "mcp_policies": RW,
    "mcp_requests": RW,
    "mcp_decisions": RW,
    "mcp_sessions": RW,
    "mcp_proxy_tokens": RW,
    "idempotency_keys": RW,
    "approval_page_sessions": RW,
    "revoked_tokens": APPEND,
    "service_keys": APPEND,
    "tenant_data_keys": APPEND,
    "notices_sent": APPEND,
    "audit_records": APPEND,
    "audit_segments": APPEND,
    "audit_checkpoints": APPEND,
    "alembic_version": {"SELECT"},
}
ALL_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


@dataclass
class Schema:
    dbname: str
    owner_url: str
    app_url: str


def owned_database(server: Any) -> Schema:
    """A fresh database owned by the plain login ``strongroom_owner``."""
    server.psql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER}') THEN "
        f"CREATE ROLE {OWNER} LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS; END IF; END $$"
    )
    dbname = server.create_database().rsplit("/", 1)[1]
    server.psql(f'ALTER DATABASE "{dbname}" OWNER TO {OWNER}')
    return Schema(dbname, server.url(dbname, OWNER), server.app_role_url(dbname))


@pytest.fixture
async def schema(postgres_server: Any, postgres_template: str, tmp_path: Path) -> Schema:
    # postgres_template: the superuser's migration has created the cluster's roles
    # (strongroom_audit_archiver, strongroom_audit_rewrapper) an administrator creates.
    s = owned_database(postgres_server)
    create_master_key_file(tmp_path / "strongroom.key")
    done = run_cli(tmp_path, "migrate", "--app-role", APP, STRONGROOM_DATABASE_URL=s.owner_url)
    assert done.returncode == 0, done.stderr
    assert f"granted {APP}" in done.stderr
    return s


async def privileges(url: str) -> dict[str, set[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            tables = (
                await conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalars()
            held: dict[str, set[str]] = {}
            for table in tables.all():
                held[table] = set()
                for p in ALL_PRIVILEGES:
                    q = text("SELECT has_table_privilege(:r, :t, :p)")
                    if (await conn.execute(q, {"r": APP, "t": table, "p": p})).scalar():
                        held[table].add(p)
                q = text("SELECT has_any_column_privilege(:r, :t, 'UPDATE')")
                if (await conn.execute(q, {"r": APP, "t": table})).scalar():
                    held[table].add("UPDATE")  # a column grant counts as much as a table one
            return held
    finally:
        await engine.dispose()


async def sequence_privileges(url: str) -> dict[str, set[str]]:
    engine = create_async_engine(url)
    q = text(
        "SELECT sequencename, has_sequence_privilege(:r, sequencename, 'USAGE'), "
        "has_sequence_privilege(:r, sequencename, 'SELECT'), "
        "has_sequence_privilege(:r, sequencename, 'UPDATE') "
        "FROM pg_sequences WHERE schemaname = 'public'"
    )
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(q, {"r": APP})).all()
    finally:
        await engine.dispose()
    names = ("USAGE", "SELECT", "UPDATE")
    return {r[0]: {n for n, held in zip(names, r[1:], strict=True) if held} for r in rows}


async def test_grants_table_by_table(schema: Schema) -> None:
    assert await privileges(schema.owner_url) == EXPECTED
    # nextval for the tables it inserts into; never setval.
    sequences = await sequence_privileges(schema.owner_url)
    assert sequences and all(held == {"USAGE"} for held in sequences.values()), sequences


async def test_grant_app_narrows_the_old_wide_grants(
    postgres_server: Any, schema: Schema, tmp_path: Path
) -> None:
    postgres_server.psql(
        f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {APP}",
        f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {APP}",
        dbname=schema.dbname,
    )
    assert (await privileges(schema.owner_url))["alembic_version"] == set(ALL_PRIVILEGES)
    done = run_cli(tmp_path, "db", "grant-app", APP, STRONGROOM_DATABASE_URL=schema.owner_url)
    assert done.returncode == 0, done.stderr
    assert await privileges(schema.owner_url) == EXPECTED
    assert all(held == {"USAGE"} for held in (await sequence_privileges(schema.owner_url)).values())


async def refused(url: str, *statements: str) -> list[str]:
    """Each statement run as its own transaction; returns the ones that succeeded."""
    engine = create_async_engine(url)
    passed = []
    try:
        for sql in statements:
            try:
                async with engine.begin() as conn:
                    await conn.execute(text("SELECT set_config('strongroom.tenant', '*', true)"))
                    await conn.execute(text(sql))
                passed.append(sql)
            except DBAPIError:
                pass
    finally:
        await engine.dispose()
    return passed


TAMPERING = (
    "UPDATE audit_segments SET wrapped_key = '\\x00'::bytea",
    "UPDATE alembic_version SET version_num = '0001'",
    "INSERT INTO alembic_version VALUES ('9999')",
    "DELETE FROM alembic_version",
    "DELETE FROM audit_records",
    "UPDATE audit_records SET actor = 'x'",
    "DELETE FROM audit_checkpoints",
    "UPDATE service_keys SET wrapped = '\\x00'::bytea",
    "UPDATE tenant_data_keys SET wrapped = '\\x00'::bytea",
    "DELETE FROM tenant_data_keys",
    "DELETE FROM notices_sent",
)


async def test_app_role_cannot_rewrite_segment_keys_or_the_schema_version(
    schema: Schema,
) -> None:
    assert await refused(schema.app_url, *TAMPERING) == []
    assert await refused(schema.app_url, "SELECT count(*) FROM audit_segments") != []


async def test_segment_keys_stay_out_of_reach_with_the_old_wide_grants(
    postgres_server: Any, schema: Schema
) -> None:
    """The README used to advise GRANT ... ON ALL TABLES: the trigger still refuses a
    segment key re-wrap by anyone but the owner and strongroom_audit_rewrapper."""
    postgres_server.psql(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP}",
        dbname=schema.dbname,
    )
    assert await refused(schema.app_url, TAMPERING[0]) == []


async def test_tables_added_by_later_migrations_follow_the_rules(
    postgres_server: Any, tmp_path: Path
) -> None:
    """Granted at 0002 (no audit chain tables yet); the upgrade to head grants the
    serving role again by itself, exactly as for a fresh schema."""
    s = owned_database(postgres_server)
    owner = Database(s.owner_url)
    try:
        await upgrade(owner, "0002", app_role=APP)
        assert "audit_segments" not in await privileges(s.owner_url)
        await upgrade(owner)
    finally:
        await owner.dispose()
    assert await privileges(s.owner_url) == EXPECTED


async def test_grant_app_refuses_bad_roles_and_the_app_role(schema: Schema, tmp_path: Path) -> None:
    for role, env_url, message in (
        ("no_such_role", schema.owner_url, "does not exist"),
        ("Robert'); DROP", schema.owner_url, "PostgreSQL identifier"),
        (APP, schema.app_url, "run as the schema owner"),
    ):
        done = run_cli(tmp_path, "db", "grant-app", role, STRONGROOM_DATABASE_URL=env_url)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


class NewMasterKey:
    """A local master key replaced by another (as after `kms import-recovery` of a new
    key): opens with the old, wraps with the new."""

    name = "local"

    def __init__(self, old: LocalKms, new: LocalKms) -> None:
        self.old, self.new = old, new

    @property
    def key_ref(self) -> str:
        return self.new.key_ref

    async def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> Wrapped:
        return await self.new.wrap(plaintext, context)

    async def unwrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> bytes:
        kms = self.new if wrapped.key_ref == self.new.key_ref else self.old
        return await kms.unwrap(wrapped, context)

    async def rewrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> Wrapped:
        return await self.wrap(await self.unwrap(wrapped, context), context)

    async def health(self) -> bool:
        return True

    async def close(self) -> None:
        return None


@pytest.fixture
async def served(schema: Schema, tmp_path: Path) -> AsyncIterator[Services]:
    """The service as the app role: it writes keys and audit records (segments)."""
    svc = build_services(make_settings(schema.app_url, tmp_path))
    enter_system_scope()
    await svc.start(migrate=True)  # at head: the serving role only reads the version
    try:
        await svc.keys.create(Actor("test", "default", "r-1", None), "alice", None, None)
        yield svc
    finally:
        await svc.close()


async def test_kms_rewrap_as_the_owner_moves_segment_keys(
    served: Services, schema: Schema, tmp_path: Path
) -> None:
    old = LocalKms.from_file(tmp_path / "strongroom.key")
    new = LocalKms(os.urandom(32))
    owner = build_services(make_settings(schema.owner_url, tmp_path))
    try:
        rewrap = KmsRewrap(owner.db, NewMasterKey(old, new), owner.audit)
        await owner.audit.start()
        report = await rewrap.run(Actor("operator", "default", f"r-{uuid.uuid4().hex}", None))
        assert report.refused == [] and report.complete, report
        async with owner.db.read() as s:
            rows = await wrapped_repo.small_rows_not_under(s, "nothing")
        segments = [r for r in rows if r.kind == "audit_segment"]
        assert len(segments) >= 2  # the app's and the owner's own
        for row in segments:
            assert row.kms_key_ref == new.key_ref
            await new.unwrap(Wrapped(row.kms_key_ref, row.wrapped), segment_context(row.ident))
    finally:
        await owner.close()

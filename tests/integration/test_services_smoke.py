"""Each service fixture gives a working server, and a missing service is never a silent pass."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests import services
from tests.services import OpenBaoServer, PostgresServer, RedisServer

# -- the skip-or-fail rule ---------------------------------------------------


def test_missing_service_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(services.REQUIRE_SERVICES_ENV, "1")

    def broken() -> None:
        raise services.ServiceStartError("no such binary")

    with pytest.raises(pytest.fail.Exception, match="Redis unavailable: no such binary"):
        services.start_or_unavailable("Redis", broken)


def test_missing_service_skips_when_not_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(services.REQUIRE_SERVICES_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL unavailable"):
        services.service_unavailable("PostgreSQL unavailable: gone")


def test_missing_binary_is_a_start_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python3"))
    with pytest.raises(services.ServiceStartError, match="redis-server"):
        services.start_redis()
    with pytest.raises(services.ServiceStartError, match="bao"):
        services.start_openbao()
    monkeypatch.setenv(services.PG_BINDIR_ENV, str(tmp_path))
    with pytest.raises(services.ServiceStartError, match="initdb"):
        services.start_postgres()


def test_startup_failures_are_bounded_and_cleaned_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = services._child_env()

    def never(_port: int) -> bool:
        return False

    with pytest.raises(services.ServiceStartError, match="exited with status 3"):
        services._launch("crasher", tmp_path, lambda _p: ["sh", "-c", "exit 3"], never, env=env)
    assert len(list(tmp_path.glob("crasher-*.log"))) == services.START_ATTEMPTS

    monkeypatch.setattr(services, "STARTUP_TIMEOUT", 0.3)
    spawned: list[subprocess.Popen[bytes]] = []
    real_spawn = services._spawn

    def spawn(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        spawned.append(real_spawn(*args, **kwargs))
        return spawned[-1]

    monkeypatch.setattr(services, "_spawn", spawn)
    t0 = time.monotonic()
    with pytest.raises(services.ServiceStartError, match="not ready after"):
        services._launch("sleeper", tmp_path, lambda _p: ["sleep", "60"], never, env=env)
    assert time.monotonic() - t0 < 5
    assert len(spawned) == 1 and spawned[0].poll() is not None  # not left running


# -- PostgreSQL --------------------------------------------------------------


async def test_postgres_created_database_answers(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database()
    assert url.startswith("postgresql+asyncpg://postgres@127.0.0.1:")
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("select 1"))).scalar_one() == 1
            db = (await conn.execute(text("select current_database()"))).scalar_one()
            assert db == make_url(url).database
    finally:
        await engine.dispose()


async def test_postgres_databases_are_isolated(postgres_server: PostgresServer) -> None:
    first = make_url(postgres_server.create_database(f"iso_{uuid.uuid4().hex[:8]}")).database
    second = make_url(postgres_server.create_database()).database
    assert first is not None and second is not None
    assert first != second
    conn = await asyncpg.connect(postgres_server.dsn(first))
    try:
        await conn.execute("create table marker (id int)")
    finally:
        await conn.close()
    conn = await asyncpg.connect(postgres_server.dsn(second))
    try:
        assert await conn.fetchval("select to_regclass('marker')") is None
    finally:
        await conn.close()


async def test_postgres_app_role_is_unprivileged(postgres_server: PostgresServer) -> None:
    dbname = make_url(postgres_server.create_database()).database
    assert dbname is not None
    conn = await asyncpg.connect(postgres_server.app_role_dsn(dbname))
    try:
        row = await conn.fetchrow(
            "select current_user, r.rolsuper, r.rolbypassrls, r.rolcreatedb, "
            "pg_get_userbyid(d.datdba) as db_owner "
            "from pg_roles r, pg_database d "
            "where r.rolname = current_user and d.datname = current_database()"
        )
        assert row is not None
        assert row["current_user"] == "strongroom_app"
        assert not row["rolsuper"] and not row["rolbypassrls"] and not row["rolcreatedb"]
        assert row["db_owner"] == "postgres"
    finally:
        await conn.close()
    engine = create_async_engine(postgres_server.app_role_url(dbname))
    try:
        async with engine.connect() as sa_conn:
            assert (await sa_conn.execute(text("select 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_postgres_admin_dsn(postgres_server: PostgresServer) -> None:
    conn = await asyncpg.connect(postgres_server.admin_dsn)
    try:
        assert await conn.fetchval("select rolsuper from pg_roles where rolname = current_user")
        assert (await conn.fetchval("show server_version_num")) >= "150000"
    finally:
        await conn.close()


# -- Redis -------------------------------------------------------------------


async def test_redis_ping(redis_server: RedisServer) -> None:
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    reader, writer = await asyncio.open_connection(redis_server.host, redis_server.port)
    try:
        writer.write(b"PING\r\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.readline(), 5) == b"+PONG\r\n"
        # RESP array: SET then GET
        writer.write(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.readline(), 5) == b"+OK\r\n"
        assert await asyncio.wait_for(reader.readline(), 5) == b"$2\r\n"
        assert await asyncio.wait_for(reader.readline(), 5) == b"v1\r\n"
    finally:
        writer.close()
        await writer.wait_closed()


# -- OpenBao -----------------------------------------------------------------


async def test_openbao_transit_round_trip(openbao_server: OpenBaoServer) -> None:
    async with httpx.AsyncClient(
        base_url=openbao_server.addr, headers=openbao_server.headers, trust_env=False, timeout=10
    ) as bao:
        health = await bao.get("/v1/sys/health")
        assert health.status_code == 200, health.text
        assert health.json()["initialized"] and not health.json()["sealed"]

        mount = f"transit-{uuid.uuid4().hex[:8]}"  # session-wide server: no clashes
        r = await bao.post(f"/v1/sys/mounts/{mount}", json={"type": "transit"})
        assert r.status_code == 204, r.text
        r = await bao.post(f"/v1/{mount}/keys/k1", json={"type": "aes256-gcm96"})
        assert r.status_code in (200, 204), r.text
        r = await bao.get(f"/v1/{mount}/keys/k1")
        assert r.json()["data"]["type"] == "aes256-gcm96"

        plaintext = b"strongroom \x00\xff secret"
        r = await bao.post(
            f"/v1/{mount}/encrypt/k1", json={"plaintext": base64.b64encode(plaintext).decode()}
        )
        assert r.status_code == 200, r.text
        ciphertext = r.json()["data"]["ciphertext"]
        assert ciphertext.startswith("vault:v1:")
        r = await bao.post(f"/v1/{mount}/decrypt/k1", json={"ciphertext": ciphertext})
        assert r.status_code == 200, r.text
        assert base64.b64decode(r.json()["data"]["plaintext"]) == plaintext


def test_fixture_start_times(
    postgres_server: PostgresServer, redis_server: RedisServer, openbao_server: OpenBaoServer
) -> None:
    for server in (postgres_server, redis_server, openbao_server):
        assert 0 < server.startup_seconds < services.STARTUP_TIMEOUT * services.START_ATTEMPTS
        print(f"{type(server).__name__} started in {server.startup_seconds:.2f}s")

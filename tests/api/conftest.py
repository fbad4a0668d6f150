"""An app on a real database (SQLite file and PostgreSQL), driven over ASGI.

Every test that touches storage runs once per backend through the ``backend``
parameter; PostgreSQL comes from the ``postgres_server`` fixture (tests/services.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from strongroom.api.app import create_app
from strongroom.config import Settings
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import Services, build_services
from strongroom.store.tenancy import enter_system_scope
from tests.databases import clone_sqlite, sqlite_url
from tests.services import PG_SUPERUSER


@dataclass
class App:
    client: httpx.AsyncClient
    services: Services
    settings: Settings
    admin_key: str
    db_path: Path | None

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.admin_key}

    async def post(self, path: str, body: Any, key: str | None = None) -> httpx.Response:
        headers = {"X-API-Key": key or self.admin_key}
        return await self.client.post(path, json=body, headers=headers)

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path, headers=self.headers)

    async def create_key(self, user: str, key_type: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"userId": user}
        if key_type:
            body["keyType"] = key_type
        r = await self.post("/api/v1/keys", body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def encrypt(self, user: str, data: list[str], **extra: Any) -> list[str]:
        r = await self.post("/api/v1/encrypt", {"userId": user, "data": data, **extra})
        assert r.status_code == 200, r.text
        return list(r.json()["encryptedData"])

    async def decrypt(self, user: str, data: list[str], **extra: Any) -> list[str]:
        r = await self.post("/api/v1/decrypt", {"userId": user, "data": data, **extra})
        assert r.status_code == 200, r.text
        return list(r.json()["decryptedData"])


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh database of its own for the test, already at the migrations' head: a copy
    of the worker's migrated template (tests/databases.py)."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        return clone_sqlite(template, tmp_path / "strongroom.db")
    server = request.getfixturevalue("postgres_server")
    url = server.create_database(template=request.getfixturevalue("postgres_template"))
    # As production runs: the serving role with exactly its grants, under row-level
    # security (the superuser migrated the template).
    return str(server.app_role_url(url.rsplit("/", 1)[1]))


def as_owner(url: str) -> str:
    """The same database as its owner (the superuser that migrated the template): for
    what the serving role may not do, such as ``kms rewrap`` or altering a table."""
    u = make_url(url)
    return u.set(username=PG_SUPERUSER).render_as_string(hide_password=False) if u.username else url


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh database with no schema at all, for tests that run the migrations."""
    if backend == "sqlite":
        return sqlite_url(tmp_path / "strongroom.db")
    return str(request.getfixturevalue("postgres_server").create_database())


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "master_key_file": tmp_path / "strongroom.key",
        "scheduler_enabled": False,
        "min_deletion_window_days": 0,
        "audit_flush_interval_ms": 0,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


# FastAPI builds each route's parameter models on the route's first request (~50 ms
# for a fresh app): one app per worker and per set of overrides (all that shapes the
# app: CORS, body limit, telemetry), pointed at each test's own services.
_APPS: dict[str, FastAPI] = {}


def app_for(settings: Settings, services: Services, overrides: dict[str, Any]) -> FastAPI:
    key = repr(sorted(overrides.items()))
    application = _APPS.get(key)
    if application is None:
        application = _APPS[key] = create_app(settings, services)
    application.state.services = services
    return application


@pytest.fixture
async def app(
    database_url: str, tmp_path: Path, settings_overrides: dict[str, Any]
) -> AsyncIterator[App]:
    settings = make_settings(database_url, tmp_path, **settings_overrides)
    create_master_key_file(settings.kms.master_key_file)
    services = build_services(settings)
    # The test's own calls on the services are system work; each request chooses its
    # tenant and leaves this scope as it found it (store/tenancy.py).
    enter_system_scope()
    await services.start()  # the database is a copy of a migrated template
    _, admin_key = await services.access.create("default", ["admin"], "test admin")
    application = app_for(settings, services, settings_overrides)
    transport = httpx.ASGITransport(app=application, client=("203.0.113.7", 4242))
    db_path = tmp_path / "strongroom.db" if database_url.startswith("sqlite") else None
    async with httpx.AsyncClient(transport=transport, base_url="http://strongroom") as client:
        yield App(client, services, settings, admin_key, db_path)
    await services.close()

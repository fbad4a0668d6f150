"""A real Strongroom service for the client's tests: the full app (middleware, fast
lane, guard, audit) served by uvicorn over TCP on 127.0.0.1 from a thread of the test
process, on a SQLite copy of the migrated template. One per test module."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn

from strongroom.api.app import create_app
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import build_services
from strongroom.store.tenancy import enter_system_scope
from strongroom_client import AsyncClient, Client
from tests.api.conftest import make_settings
from tests.databases import clone_sqlite
from tests.integration.test_cli import free_port
from tests.oidc_support import issuer_config

T = TypeVar("T")
ISSUER = "https://idp.example.test"


class ThreadServer:
    def __init__(self, tmp: Path, template: Path) -> None:
        self.tmp = tmp  # strongroom.db and strongroom.key, as `strongroom` finds them there
        url = clone_sqlite(template, tmp / "strongroom.db")
        issuer = issuer_config("http://127.0.0.1:9/jwks", issuer=ISSUER)
        self.settings = make_settings(url, tmp, oidc_issuers=[issuer])
        create_master_key_file(self.settings.kms.master_key_file)
        self.services = build_services(self.settings)
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        app = create_app(self.settings, self.services)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="strongroom-test", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.serve())
            self.loop.run_until_complete(self.services.close())
        finally:
            self.loop.close()

    def start(self) -> None:
        self.thread.start()
        for _ in range(900):  # 45 s: start-up under load on 2 shared cores
            if self.server.started:
                return
            if not self.thread.is_alive():
                break
            threading.Event().wait(0.05)
        raise RuntimeError("the test service did not start")

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the service's loop (its database connections live there)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def access_key(self, *roles: str, tenant: str = "default") -> str:
        async def create() -> str:
            enter_system_scope()
            _, key = await self.services.access.create(tenant, list(roles), "client tests")
            return key

        return self.run(create())

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[ThreadServer]:
    server = ThreadServer(tmp_path_factory.mktemp("client"), sqlite_template)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def admin_key(service: ThreadServer) -> str:
    return service.access_key("admin")


@pytest.fixture(scope="module")
def service_key(service: ThreadServer, admin_key: str) -> str:
    """Pinned the way an operator would: read once over a channel the test trusts."""
    with Client(service.addr, api_key=admin_key, env={}) as c:
        return str(c.keys.service_keys()["keyStatement"]["publicKey"])


class Either:
    """The sync ``Client`` or the ``AsyncClient`` behind one awaitable surface, so each
    test runs against both: ``await sr.keys.create(...)``."""

    def __init__(self, target: Any, is_async: bool) -> None:
        self._target = target
        self._async = is_async

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return Either(attr, self._async)

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            if inspect.isasyncgen(result):
                return [item async for item in result]
            if inspect.isgenerator(result):
                return list(result)
            return await result if self._async else result

        return call


@pytest.fixture(params=["sync", "async"])
async def sr(
    request: pytest.FixtureRequest, service: ThreadServer, admin_key: str, service_key: str
) -> Any:
    kwargs: dict[str, Any] = {"api_key": admin_key, "service_key": service_key, "env": {}}
    if request.param == "sync":
        with Client(service.addr, **kwargs) as c:
            yield Either(c, False)
    else:
        async with AsyncClient(service.addr, **kwargs) as ac:
            yield Either(ac, True)

"""N ``strongroom serve`` processes on one PostgreSQL + Redis behind a small load
balancer: what deploy/compose.yaml describes, as plain processes (no container
engine runs here). Used by tests/integration/test_three_replicas.py and
bench/replicas.py.

The load balancer is a round-robin TCP proxy (one backend per client connection,
like haproxy in ``mode tcp``) on its own thread and event loop: a backend that
refuses the connection is skipped, and when none accepts the client gets
``503`` with ``Retry-After``. A backend that dies mid-request resets its client
connections, which is what a client sees behind a real balancer too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.services import HOST, _spawn, free_port

CLI = shutil.which("strongroom", path=str(Path(sys.executable).parent)) or "strongroom"
START_TIMEOUT = 45.0
_BODY = b'{"error":{"code":"SYS001","message":"no backend is up"}}'
_NO_BACKEND = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_BODY), _BODY)
)


class LoadBalancer:
    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = list(backends)
        self._next = itertools.cycle(range(len(backends)))
        self.port = free_port()
        self.connections = [0] * len(backends)  # accepted per backend (distribution)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lb", daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> LoadBalancer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("load balancer did not start")
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, HOST, self.port, backlog=512)
        )
        self._ready.set()
        self._loop.run_forever()
        # Stopped: let the open connections' tasks see their cancellation.
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(self._server.wait_closed())

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in range(len(self.backends)):
            i = next(self._next)
            try:
                pair = await asyncio.wait_for(asyncio.open_connection(*self.backends[i]), 2.0)
            except (OSError, TimeoutError):
                continue
            self.connections[i] += 1
            return pair
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect()
        if upstream is None:
            with contextlib.suppress(OSError):
                writer.write(_NO_BACKEND)
                await writer.drain()
            writer.close()
            return
        up_reader, up_writer = upstream

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            except OSError:
                pass
            finally:
                # One side gone: drop both (a reset, not a half-close, as a proxy does
                # when its backend dies).
                for w in (dst, writer, up_writer):
                    with contextlib.suppress(Exception):
                        w.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()


@dataclass
class Replica:
    name: str
    env: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> None:
        # Its own session (killpg reaches uvicorn's workers too), and SIGKILL if the
        # test process dies without cleaning up (tests/services.py).
        argv = [CLI, "serve", "--host", HOST, "--port", str(self.port)]
        self.proc = _spawn(argv, self.log, cwd=self.workdir, env=self.env)

    def wait_ready(self, deadline: float) -> None:
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready: {self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, as a node or OOM kill does."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"


def replica_env(workdir: Path, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment every replica shares (docs/deploy.md: settings that must be
    equal on every replica), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRONGROOM_", "PG"))}
    env.update(
        STRONGROOM_DATABASE_URL=database_url,
        STRONGROOM_REDIS_URL=redis_url,
        STRONGROOM_MASTER_KEY_FILE=str(workdir / "strongroom.key"),
        STRONGROOM_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start_replicas(workdir: Path, count: int, env: dict[str, str]) -> list[Replica]:
    """Start ``count`` replicas together and wait until every one is ready."""
    replicas = [Replica(f"replica{i}", env, workdir) for i in range(count)]
    try:
        for r in replicas:
            r.start()
        deadline = time.monotonic() + START_TIMEOUT
        for r in replicas:
            r.wait_ready(deadline)
    except BaseException:
        for r in replicas:
            r.kill()
        raise
    return replicas

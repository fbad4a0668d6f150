"""Real backing services for the tests: PostgreSQL, Redis and OpenBao on 127.0.0.1.

Each service is started once per test session, on a free port, in a scratch
directory of its own, and stopped (its directory removed) at the end of the
session. Loaded as a pytest plugin from ``tests/conftest.py``; the fixtures are:

``postgres_server``
    A throwaway PostgreSQL cluster (``initdb --auth=trust``, fsync off) with a
    superuser ``postgres`` and a plain login role ``strongroom_app`` (not a
    superuser, owns nothing, no BYPASSRLS). ``create_database(name)`` makes a
    fresh database and returns its SQLAlchemy async URL; ``app_role_dsn(db)`` /
    ``app_role_url(db)`` connect to it as ``strongroom_app``.
``redis_server``
    ``redis-server`` without persistence; ``url`` is ``redis://127.0.0.1:PORT/0``.
``openbao_server``
    ``bao server -dev`` (in-memory storage, root token ``root``); ``addr`` and
    ``token``.

When a service cannot be had (binary missing, start failed, not ready in
time) the tests that need it are skipped, or fail when the environment sets
``STRONGROOM_TEST_REQUIRE_SERVICES=1`` (CI does): see ``service_unavailable``.
A fixture that could not start is not retried within the session (pytest
caches the error of a session fixture).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TypeVar

import pytest

REQUIRE_SERVICES_ENV = "STRONGROOM_TEST_REQUIRE_SERVICES"
PG_BINDIR_ENV = "STRONGROOM_TEST_PG_BINDIR"  # optional: use this PostgreSQL bin directory
STARTUP_TIMEOUT = 20.0  # seconds for a service to answer once its process is running
START_ATTEMPTS = 3  # a process that exits during startup (e.g. lost a port race) is retried
HOST = "127.0.0.1"
PG_SUPERUSER = "postgres"
PG_APP_ROLE = "strongroom_app"
OPENBAO_ROOT_TOKEN = "root"  # the dev server's well-known root token

T = TypeVar("T")


# --------------------------------------------------------------------------
# The one rule for a missing service


class ServiceStartError(Exception):
    """A service could not be started; the message says why."""


def services_required() -> bool:
    """True when the environment demands real services (CI sets it)."""
    return os.environ.get(REQUIRE_SERVICES_ENV, "").strip().lower() in {"1", "true", "yes"}


def service_unavailable(msg: str) -> NoReturn:
    """Fail (``STRONGROOM_TEST_REQUIRE_SERVICES=1``) or skip a test whose service is missing.

    Every service-dependent test goes through here, so a CI run cannot pass by
    quietly skipping the tests it was meant to run.
    """
    if services_required():
        pytest.fail(f"{msg}\n[{REQUIRE_SERVICES_ENV}=1: a missing service fails]", pytrace=False)
    pytest.skip(f"{msg} (set {REQUIRE_SERVICES_ENV}=1 to make this a failure)")


def start_or_unavailable(name: str, starter: Callable[[], T]) -> T:
    """Run ``starter``; if it raises ``ServiceStartError``, apply ``service_unavailable``."""
    try:
        return starter()
    except ServiceStartError as exc:
        reason = str(exc)
    service_unavailable(f"{name} unavailable: {reason}")  # outside `except`: no chained noise


# --------------------------------------------------------------------------
# Processes: stopped at session end, at interpreter exit, and if pytest dies hard


_live: dict[int, Callable[[], None]] = {}  # id(server) -> server.stop
_live_lock = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        stops = list(_live.values())
        _live.clear()
    for stop in stops:
        with contextlib.suppress(Exception):
            stop()


_PR_SET_PDEATHSIG = 1
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
except (OSError, AttributeError):  # pragma: no cover - unusual libc
    _prctl = None


def _die_with_parent() -> None:  # runs in the child, after any setuid, before exec
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _spawn(
    argv: list[str], log_path: Path, *, cwd: Path, env: dict[str, str], user: str | None = None
) -> subprocess.Popen[bytes]:
    """Start a server process in its own session, output to ``log_path``.

    The child gets SIGKILL if pytest dies without running its cleanups (the
    parent-death signal follows the forking thread, so only from the main
    thread, where pytest sets fixtures up).
    """
    in_main = threading.current_thread() is threading.main_thread()
    try:
        with log_path.open("wb") as log:
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent if in_main else None,
                user=user,
                group=pwd.getpwnam(user).pw_gid if user else None,
                extra_groups=[] if user else None,
            )
    except OSError as exc:
        raise ServiceStartError(f"cannot run {argv[0]}: {exc}") from exc


def _stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal the server, wait up to 10 s, then SIGKILL its whole process group."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _log_tail(path: Path, limit: int = 3000) -> str:
    try:
        text = path.read_text(errors="replace")[-limit:].strip()
    except OSError:
        return "(no log)"
    return text or "(empty log)"


class _ExitedEarly(ServiceStartError):
    """The process died during startup: worth another try on a fresh port."""


def _launch(
    what: str,
    base: Path,
    argv_for: Callable[[int], list[str]],
    ready: Callable[[int], bool],
    *,
    env: dict[str, str],
    user: str | None = None,
    stop_signal: int = signal.SIGTERM,
    port_pair: bool = False,
) -> tuple[int, subprocess.Popen[bytes]]:
    """Start ``argv_for(port)`` on a free port and poll ``ready(port)``.

    Fails fast when the process exits (retried on a new port, up to
    ``START_ATTEMPTS`` times), gives up after ``STARTUP_TIMEOUT`` seconds, and
    never leaves the process running when it raises.
    """
    for attempt in range(1, START_ATTEMPTS + 1):
        port = free_port(also_next=port_pair)
        log_path = base / f"{what.split()[0]}-{attempt}.log"
        proc = _spawn(argv_for(port), log_path, cwd=base, env=env, user=user)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while not ready(port):
                if proc.poll() is not None:
                    raise _ExitedEarly(
                        f"{what} exited with status {proc.returncode} during startup; "
                        f"log {log_path}:\n{_log_tail(log_path)}"
                    )
                if time.monotonic() > deadline:
                    raise ServiceStartError(
                        f"{what} not ready after {STARTUP_TIMEOUT:.0f}s; "
                        f"log {log_path}:\n{_log_tail(log_path)}"
                    )
                time.sleep(0.05)
            return port, proc
        except _ExitedEarly:
            if attempt == START_ATTEMPTS:
                raise
        except BaseException:
            _stop_process(proc, stop_signal)
            raise
    raise AssertionError("unreachable")


def free_port(*, also_next: bool = False) -> int:
    """A TCP port on 127.0.0.1 that is free now (with ``also_next``, port+1 is too)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
            if not also_next:
                return port
            if port >= 65535:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s2:
                try:
                    s2.bind((HOST, port + 1))
                except OSError:
                    continue
                return port
    raise ServiceStartError("no free pair of TCP ports found on 127.0.0.1")


def _scratch_dir(prefix: str) -> Path:
    # Not under pytest's basetemp: that is root-only (0700), so the postgres
    # user could not reach a data directory inside it.
    return Path(tempfile.mkdtemp(prefix=f"strongroom-{prefix}-"))


def _find_executable(name: str) -> str:
    """``name`` next to the running interpreter (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ServiceStartError(f"`{name}` not found next to {sys.executable} or on PATH")
    return found


def _child_env(**extra: str) -> dict[str, str]:
    """Our environment minus variables that would redirect a server or client."""
    drop = ("PG", "REDIS", "BAO_", "VAULT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(LC_ALL="C.UTF-8", LANG="C.UTF-8", **extra)
    return env


# --------------------------------------------------------------------------
# PostgreSQL


def find_pg_bindir() -> Path:
    """The bin directory of the newest PostgreSQL under /usr/lib/postgresql, else on PATH."""
    override = os.environ.get(PG_BINDIR_ENV)
    if override:
        candidates = [Path(override)]
    else:

        def version(p: Path) -> tuple[int, ...]:
            return tuple(int(x) for x in re.findall(r"\d+", p.parent.name))

        found = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]
        candidates = sorted(found, key=version, reverse=True)
        on_path = shutil.which("initdb")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if all((bindir / t).is_file() for t in ("initdb", "postgres", "psql", "pg_isready")):
            return bindir
    where = override or "/usr/lib/postgresql/*/bin or on PATH"
    raise ServiceStartError(
        f"PostgreSQL binaries (initdb, postgres, psql, pg_isready) not found in {where}"
    )


def _postgres_os_user() -> str | None:
    """Who runs initdb and the server: ``postgres`` when we are root (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        argv = [useradd, "--system", "--user-group", "--no-create-home"]
        argv += ["--home-dir", "/var/lib/postgresql", "--shell", "/usr/sbin/nologin", "postgres"]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ServiceStartError(
                f"running as root with no `postgres` user, and useradd failed: "
                f"{done.stderr.strip()}"
            ) from None
    return "postgres"


_DBNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass
class PostgresServer:
    bindir: Path
    base_dir: Path
    port: int
    host: str = HOST
    superuser: str = PG_SUPERUSER
    app_role: str = PG_APP_ROLE
    startup_seconds: float = 0.0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def dsn(self, dbname: str = "postgres", user: str | None = None) -> str:
        """A libpq/asyncpg DSN ``postgresql://USER@127.0.0.1:PORT/DB`` (trust auth)."""
        return f"postgresql://{user or self.superuser}@{self.host}:{self.port}/{dbname}"

    def url(self, dbname: str, user: str | None = None) -> str:
        """A SQLAlchemy async URL ``postgresql+asyncpg://USER@127.0.0.1:PORT/DB``."""
        return f"postgresql+asyncpg://{user or self.superuser}@{self.host}:{self.port}/{dbname}"

    @property
    def admin_dsn(self) -> str:
        """Superuser DSN of the ``postgres`` maintenance database."""
        return self.dsn("postgres")

    def app_role_dsn(self, dbname: str) -> str:
        """DSN of ``dbname`` as the unprivileged ``strongroom_app`` role."""
        return self.dsn(dbname, self.app_role)

    def app_role_url(self, dbname: str) -> str:
        """SQLAlchemy async URL of ``dbname`` as the unprivileged ``strongroom_app`` role."""
        return self.url(dbname, self.app_role)

    def psql(self, *statements: str, dbname: str = "postgres") -> str:
        """Run SQL as the superuser, each statement on its own (so CREATE DATABASE works)."""
        argv = [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        argv += ["-h", self.host, "-p", str(self.port), "-U", self.superuser, "-d", dbname]
        for sql in statements:
            argv += ["-c", sql]
        done = subprocess.run(
            argv, capture_output=True, text=True, env=_child_env(), timeout=60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """Create a database (a unique name if none given); return its SQLAlchemy URL.

        Empty, or a copy of ``template`` (a database nobody is connected to, e.g.
        ``postgres_template`` from tests/databases.py). The URL connects as the
        superuser (migrations). ``strongroom_app`` may CONNECT; table privileges
        are the caller's to grant (a copy keeps its template's).
        """
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        for db in (name, template):
            if db is not None and not _DBNAME.match(db):
                raise ValueError(f"unsafe database name {db!r}")
        # FILE_COPY copies the template's few MB directly: ~40% faster here than the
        # default WAL_LOG, which writes every block to the WAL (fsync is off anyway).
        source = (
            f'"{template}" STRATEGY FILE_COPY'
            if template
            else "template0 ENCODING 'UTF8' LOCALE 'C'"
        )
        self.psql(
            f'CREATE DATABASE "{name}" TEMPLATE {source}',
            f'GRANT CONNECT ON DATABASE "{name}" TO "{self.app_role}"',
        )
        return self.url(name)

    def stop(self) -> None:
        """Immediate shutdown (SIGQUIT; the data is thrown away) and remove the directory."""
        if self.proc is not None:
            _stop_process(self.proc, signal.SIGQUIT)
        shutil.rmtree(self.base_dir, ignore_errors=True)


def _pg_ready(bindir: Path, port: int) -> bool:
    argv = [str(bindir / "pg_isready"), "-q", "-h", HOST, "-p", str(port)]
    argv += ["-U", PG_SUPERUSER, "-d", "postgres", "-t", "1"]
    return subprocess.run(argv, env=_child_env(), timeout=10, check=False).returncode == 0


PG_SETTINGS = {
    "listen_addresses": HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
}


def start_postgres() -> PostgresServer:
    t0 = time.monotonic()
    bindir = find_pg_bindir()
    os_user = _postgres_os_user()
    base = _scratch_dir("pg")
    try:
        datadir, sockdir = base / "data", base / "sock"
        sockdir.mkdir()
        if os_user is not None:
            ent = pwd.getpwnam(os_user)
            for p in (base, sockdir):
                os.chown(p, ent.pw_uid, ent.pw_gid)

        initdb = [str(bindir / "initdb"), "-D", str(datadir), "-U", PG_SUPERUSER, "--auth=trust"]
        initdb += ["--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"]
        done = subprocess.run(
            initdb,
            capture_output=True,
            text=True,
            cwd=base,
            env=_child_env(),
            timeout=120,
            check=False,
            user=os_user,
            group=pwd.getpwnam(os_user).pw_gid if os_user else None,
            extra_groups=[] if os_user else None,
        )
        if done.returncode != 0:
            raise ServiceStartError(f"initdb failed: {(done.stderr or done.stdout).strip()}")

        def argv_for(port: int) -> list[str]:
            argv = [str(bindir / "postgres"), "-D", str(datadir), "-p", str(port)]
            for key, value in {**PG_SETTINGS, "unix_socket_directories": str(sockdir)}.items():
                argv += ["-c", f"{key}={value}"]
            return argv

        port, proc = _launch(
            "postgres",
            base,
            argv_for,
            lambda p: _pg_ready(bindir, p),
            env=_child_env(),
            user=os_user,
            stop_signal=signal.SIGQUIT,
        )
        server = PostgresServer(bindir=bindir, base_dir=base, port=port, proc=proc)
        try:
            server.psql(
                f'CREATE ROLE "{PG_APP_ROLE}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                "NOREPLICATION NOBYPASSRLS"
            )
        except Exception as exc:
            _stop_process(proc, signal.SIGQUIT)
            raise ServiceStartError(f"postgres is up but setup failed: {exc}") from exc
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    server.startup_seconds = time.monotonic() - t0
    return server


# --------------------------------------------------------------------------
# Redis


@dataclass
class RedisServer:
    port: int
    base_dir: Path
    host: str = HOST
    startup_seconds: float = 0.0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc)
        shutil.rmtree(self.base_dir, ignore_errors=True)


def redis_ping(port: int, host: str = HOST, timeout: float = 1.0) -> bool:
    """``PING`` over a raw socket (inline command); True on ``+PONG``."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis() -> RedisServer:
    t0 = time.monotonic()
    binary = _find_executable("redis-server")
    base = _scratch_dir("redis")

    def argv_for(port: int) -> list[str]:
        argv = [binary, "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no"]
        return [*argv, "--dir", str(base), "--daemonize", "no", "--logfile", ""]

    try:
        port, proc = _launch("redis-server", base, argv_for, redis_ping, env=_child_env())
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    return RedisServer(port, base, startup_seconds=time.monotonic() - t0, proc=proc)


# --------------------------------------------------------------------------
# OpenBao


@dataclass
class OpenBaoServer:
    port: int
    base_dir: Path
    token: str = OPENBAO_ROOT_TOKEN
    host: str = HOST
    startup_seconds: float = 0.0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def addr(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        """The token header for the HTTP API."""
        return {"X-Vault-Token": self.token}

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc)
        shutil.rmtree(self.base_dir, ignore_errors=True)


# No proxies: a CI's http_proxy must not capture requests to 127.0.0.1.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def openbao_healthy(addr: str) -> bool:
    """``GET /v1/sys/health`` answers 200 and unsealed."""
    try:
        with _direct.open(f"{addr}/v1/sys/health", timeout=1) as resp:
            return resp.status == 200 and json.loads(resp.read()).get("sealed") is False
    except (OSError, urllib.error.URLError, ValueError):
        return False


def start_openbao() -> OpenBaoServer:
    t0 = time.monotonic()
    binary = _find_executable("bao")
    base = _scratch_dir("bao")

    def argv_for(port: int) -> list[str]:
        argv = [binary, "server", "-dev", f"-dev-root-token-id={OPENBAO_ROOT_TOKEN}"]
        return [*argv, f"-dev-listen-address={HOST}:{port}", "-dev-no-store-token"]

    try:
        port, proc = _launch(
            "bao server",
            base,
            argv_for,
            lambda p: openbao_healthy(f"http://{HOST}:{p}"),
            # HOME: keep any token-helper file out of the real home directory.
            env=_child_env(HOME=str(base), BAO_LOG_LEVEL="warn"),
            port_pair=True,  # dev mode also listens on port+1 (cluster address)
        )
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    return OpenBaoServer(port, base, startup_seconds=time.monotonic() - t0, proc=proc)


# --------------------------------------------------------------------------
# Session fixtures


S = TypeVar("S", PostgresServer, RedisServer, OpenBaoServer)


def _serve(name: str, starter: Callable[[], S]) -> Iterator[S]:
    server = start_or_unavailable(name, starter)
    with _live_lock:
        _live[id(server)] = server.stop
    try:
        yield server
    finally:
        with _live_lock:
            stop = _live.pop(id(server), None)
        if stop is not None:
            stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster for the whole session; see ``PostgresServer``."""
    yield from _serve("PostgreSQL", start_postgres)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server for the whole session; ``.url`` is ``redis://127.0.0.1:PORT/0``."""
    yield from _serve("Redis", start_redis)


@pytest.fixture(scope="session")
def openbao_server() -> Iterator[OpenBaoServer]:
    """An OpenBao dev server for the whole session; ``.addr``, ``.token``, ``.headers``."""
    yield from _serve("OpenBao", start_openbao)

"""A Strongroom service on embedded defaults (SQLite, local key file) in a temp dir."""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

import httpx

from srbench import procs

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"


def default_command() -> list[str]:
    script = Path(sys.executable).parent / "strongroom"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "strongroom"]


def _env(tmp: Path, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "STRONGROOM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/strongroom.db",
        "STRONGROOM_MASTER_KEY_FILE": f"{tmp}/strongroom.key",
        "STRONGROOM_PORT": str(port),
        "STRONGROOM_SCHEDULER_ENABLED": "false",
        # Limits stay on (their cost is measured) but far above what wrk can send.
        "STRONGROOM_RATE_LIMIT_REQUESTS_PER_MINUTE": "1000000000",
        "STRONGROOM_RATE_LIMIT_ITEMS_PER_MINUTE": "1000000000",
    }
    if importlib.util.find_spec("strongroom") is None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return env


class Strongroom:
    """Context manager: migrate, create an admin access key, serve, wait for /healthz."""

    def __init__(
        self,
        command: list[str] | None = None,
        workers: int = 2,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.cmd = command or default_command()
        self.workers = workers
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-strongroom-"))
        self.port = procs.free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = _env(self.tmp, self.port) | (extra_env or {})
        self.api_key = ""
        self.keep_tmp = False
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def stderr_path(self) -> Path:
        return self.tmp / "server.err"

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    def _cli(self, *args: str) -> str:
        cmd = [*self.cmd, *args]
        p = subprocess.run(
            cmd, cwd=self.tmp, env=self.env, capture_output=True, text=True, timeout=120
        )
        if p.returncode != 0:
            msg = f"`{shlex.join(cmd)}` exited {p.returncode}:\n{p.stderr[-3000:]}"
            raise procs.StartupError(msg)
        return p.stdout

    def __enter__(self) -> Strongroom:
        self._cli("migrate")
        out = self._cli("access-keys", "create", "--role", "admin")
        lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
        if not lines:
            raise procs.StartupError("access-keys create printed nothing on stdout")
        self.api_key = lines[-1]
        self._serve()
        return self

    def _serve(self) -> None:
        serve = [*self.cmd, "serve", "--workers", str(self.workers)]
        self._proc = procs.start(serve, self.env, self.tmp, "server")
        try:
            procs.wait_http(f"{self.base_url}/healthz", self._proc, self.stderr_path)
        except procs.StartupError as e:
            procs.stop(self._proc)
            raise procs.StartupError(f"{e}\n(temp dir kept: {self.tmp})") from None

    def stop(self) -> None:
        """Stop the server (SIGTERM, so it flushes what it buffered); keep the temp dir."""
        if self._proc is not None:
            procs.stop(self._proc)

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run ``strongroom ARGS`` with the server's environment; never raises on exit code."""
        return subprocess.run(
            [*self.cmd, *args],
            cwd=self.tmp,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def restart(self) -> None:
        """Start the server again on the same database (after it died)."""
        if self._proc is not None:
            procs.stop(self._proc)
        self._serve()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None:
            procs.stop(self._proc)
        if not (self.keep_tmp or exc_type):
            shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def pgid(self) -> int | None:
        """Process group of the server (its own session, so pgid == pid)."""
        return None if self._proc is None else self._proc.pid

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def exit_status(self) -> str:
        """How the server process ended (a negative code is the killing signal)."""
        code = None if self._proc is None else self._proc.poll()
        if code is None:
            return "running"
        if code < 0:
            return f"killed by signal {-code} ({signal.Signals(-code).name})"
        return f"exited with code {code}"

    def create_key(self, user_id: str, key_type: str) -> None:
        body = {"userId": user_id, "keyType": key_type}
        r = httpx.post(self.url("keys"), json=body, headers=self.headers, timeout=30)
        if r.status_code not in (200, 201) or r.json().get("success") is not True:
            raise RuntimeError(f"create key {key_type}: {r.status_code} {r.text[:300]}")

    def url(self, endpoint: str) -> str:
        return f"{self.base_url}/api/v1/{endpoint}"

    def log_tail(self, lines: int = 30) -> str:
        return procs.tail(self.stderr_path, lines)

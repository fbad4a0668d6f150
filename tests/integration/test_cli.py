"""The ``strongroom`` console script, run as a real subprocess on a fresh directory."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ACCESS_KEY = re.compile(r"srk_(live|test)_[a-z2-7]{16}_[a-z2-7]{52}_[a-z2-7]{7}")
CLI = shutil.which("strongroom", path=str(Path(sys.executable).parent)) or "strongroom"
CLI_TIMEOUT = 30.0
# Generous: on a 2-core machine shared with other work, two workers with TLS have
# taken over 15 s to answer their first health check.
START_TIMEOUT = 45.0


def cli_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    env.update(
        STRONGROOM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/strongroom.db",
        STRONGROOM_MASTER_KEY_FILE=str(tmp / "strongroom.key"),
        STRONGROOM_SCHEDULER_ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def run_cli(tmp: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args],
        cwd=tmp,
        env=cli_env(tmp, **extra),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``strongroom serve`` in the background; stdout/stderr go to files (no pipe stalls)."""

    def __init__(self, tmp: Path, name: str, **extra: str) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stdout_path = tmp / f"{name}.stdout"
        self.stderr_path = tmp / f"{name}.stderr"
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra = extra

    def start(self) -> None:
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [CLI, "serve", "--port", str(self.port)],
                cwd=self.tmp,
                env=cli_env(self.tmp, **self.extra),
                stdout=out,
                stderr=err,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"serve exited with {self.proc.returncode}: {self.stderr()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"serve not healthy within {START_TIMEOUT}s: {self.stderr()}")

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            return None

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def stderr(self) -> str:
        return self.stderr_path.read_text()[-2000:]

    def post(self, path: str, key: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.base}{path}", json=body, headers={"X-API-Key": key}, timeout=10)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    """Every server a test starts is stopped, whatever happens."""
    started: list[Server] = []
    try:
        yield started
    finally:
        for server in started:
            server.stop()


def start(servers: list[Server], tmp: Path, name: str, **extra: str) -> Server:
    server = Server(tmp, name, **extra)
    servers.append(server)
    server.start()
    return server


def srk_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "srk_" in line]


def poll(fn: Any, until: Any, timeout: float = 5.0) -> Any:
    """Call ``fn`` until ``until(result)``; returns the last result (bounded)."""
    deadline = time.monotonic() + timeout
    result = fn()
    while not until(result) and time.monotonic() < deadline:
        time.sleep(0.2)
        result = fn()
    return result


# -- migrate, access-keys --------------------------------------------------------


def test_migrate_creates_schema_and_key_file_0600(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    key_file = tmp_path / "strongroom.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(key_file.read_bytes()) == 32
    assert "created master key file" in result.stderr
    assert result.stdout == ""
    with sqlite3.connect(tmp_path / "strongroom.db") as db:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
    assert {"user_keys", "access_keys"} <= tables

    # Idempotent; the existing master key is kept.
    key = key_file.read_bytes()
    again = run_cli(tmp_path, "migrate")
    assert again.returncode == 0, again.stderr
    assert key_file.read_bytes() == key
    assert "created master key file" not in again.stderr


def test_access_keys_create_prints_exactly_one_key(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "access-keys", "create", "--role", "encrypt-only")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    m = ACCESS_KEY.fullmatch(lines[0])
    assert m is not None and m.group(1) == "live"
    key_id = lines[0].split("_")[2]
    assert f"created access key {key_id} with roles encrypt-only" in result.stderr
    assert lines[0] not in result.stderr  # the secret goes to stdout only

    bad = run_cli(tmp_path, "access-keys", "create", "--role", "no-such-role")
    assert bad.returncode != 0
    assert "srk_" not in bad.stdout
    assert "unknown role" in bad.stderr


# -- serve -------------------------------------------------------------------------


@pytest.mark.slow
def test_serve_bootstrap_api_authz_and_restart(tmp_path: Path, servers: list[Server]) -> None:
    first = start(servers, tmp_path, "first")
    printed = srk_lines(first.stdout())
    assert len(printed) == 1, first.stdout()
    admin = printed[0].strip()
    assert ACCESS_KEY.fullmatch(admin)
    assert (tmp_path / "strongroom.key").stat().st_mode & 0o777 == 0o600

    assert httpx.get(f"{first.base}/healthz").status_code == 200
    assert httpx.get(f"{first.base}/docs").status_code == 200
    spec = httpx.get(f"{first.base}/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/encrypt" in spec.json()["paths"]

    created = first.post("/api/v1/keys", admin, {"userId": "u1"})
    assert created.status_code == 201, created.text
    plain = ["hello", "wörld ✓", ""]
    enc = first.post("/api/v1/encrypt", admin, {"userId": "u1", "data": plain})
    assert enc.status_code == 200, enc.text
    ciphertexts = enc.json()["encryptedData"]
    assert len(ciphertexts) == 3 and all(c.startswith("sr:v1:") for c in ciphertexts)
    dec = first.post("/api/v1/decrypt", admin, {"userId": "u1", "data": ciphertexts})
    assert dec.status_code == 200, dec.text
    assert dec.json()["decryptedData"] == plain

    typo = admin[:30] + ("b" if admin[30] != "b" else "c") + admin[31:]
    bad = first.post("/api/v1/decrypt", typo, {"userId": "u1", "data": ciphertexts})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "AUTH001"

    # A narrow key made by the CLI while the server runs.
    made = run_cli(tmp_path, "access-keys", "create", "--role", "encrypt-only")
    assert made.returncode == 0, made.stderr
    enc_only = made.stdout.strip()
    assert ACCESS_KEY.fullmatch(enc_only)
    ok = first.post("/api/v1/encrypt", enc_only, {"userId": "u1", "data": ["x"]})
    assert ok.status_code == 200, ok.text
    denied = first.post("/api/v1/decrypt", enc_only, {"userId": "u1", "data": ciphertexts})
    assert denied.status_code == 403, denied.text
    assert denied.json()["error"]["code"] == "AUTH002"
    assert "hello" not in denied.text

    assert first.stop() is not None, "serve did not stop on SIGTERM"

    # Second start on the same directory: no new bootstrap key, old state usable.
    second = start(servers, tmp_path, "second")
    assert srk_lines(second.stdout()) == []
    assert "Bootstrap" not in second.stdout()
    again = second.post("/api/v1/decrypt", admin, {"userId": "u1", "data": ciphertexts})
    assert again.status_code == 200, again.text
    assert again.json()["decryptedData"] == plain
    denied = second.post("/api/v1/decrypt", enc_only, {"userId": "u1", "data": ciphertexts})
    assert denied.status_code == 403


def test_serve_refuses_group_readable_master_key(tmp_path: Path) -> None:
    key_file = tmp_path / "strongroom.key"
    key_file.write_bytes(os.urandom(32))
    key_file.chmod(0o644)
    try:
        result = subprocess.run(
            [CLI, "serve", "--port", str(free_port())],
            cwd=tmp_path,
            env=cli_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:  # pragma: no cover - the bug case
        pytest.fail("serve started with a group-readable master key file")
    assert result.returncode != 0
    assert str(key_file) in result.stderr
    assert "chmod 600" in result.stderr
    assert "srk_" not in result.stdout
    assert key_file.stat().st_mode & 0o777 == 0o644  # reported, not silently "fixed"


# -- keys rotate-due / destroy-due ----------------------------------------------------


def test_due_commands_on_empty_database(tmp_path: Path) -> None:
    rotated = run_cli(tmp_path, "keys", "rotate-due")
    assert rotated.returncode == 0, rotated.stderr
    assert "rotated 0 key(s)" in rotated.stderr
    destroyed = run_cli(tmp_path, "keys", "destroy-due")
    assert destroyed.returncode == 0, destroyed.stderr
    assert "destroyed 0 key(s)" in destroyed.stderr
    assert rotated.stdout == destroyed.stdout == ""


@pytest.mark.slow
def test_due_commands_act_on_a_running_servers_keys(tmp_path: Path, servers: list[Server]) -> None:
    server = start(servers, tmp_path, "maint", STRONGROOM_MIN_DELETION_WINDOW_DAYS="0")
    admin = srk_lines(server.stdout())[0].strip()
    for user in ("u1", "u2"):
        assert server.post("/api/v1/keys", admin, {"userId": user}).status_code == 201
    old = server.post("/api/v1/encrypt", admin, {"userId": "u1", "data": ["secret"]})
    old_ct = old.json()["encryptedData"]

    # Make u1 (only) overdue for rotation.
    with sqlite3.connect(tmp_path / "strongroom.db") as db:
        n = db.execute(
            "update user_keys set next_rotation_at = '2000-01-01 00:00:00.000000'"
            " where user_id = 'u1'"
        ).rowcount
    assert n == 1
    rotated = run_cli(tmp_path, "keys", "rotate-due")
    assert rotated.returncode == 0, rotated.stderr
    assert "rotated 1 key(s)" in rotated.stderr
    assert "rotated 0 key(s)" in run_cli(tmp_path, "keys", "rotate-due").stderr

    # The server picks up the new version (metadata TTL 1 s); old data still opens.
    def encrypt_u1() -> httpx.Response:
        return server.post("/api/v1/encrypt", admin, {"userId": "u1", "data": ["x"]})

    fresh = poll(encrypt_u1, lambda r: r.json()["encryptedData"][0].startswith("sr:v2:"))
    assert fresh.json()["encryptedData"][0].startswith("sr:v2:"), fresh.text
    dec = server.post("/api/v1/decrypt", admin, {"userId": "u1", "data": old_ct})
    assert dec.json()["decryptedData"] == ["secret"]

    sched = server.post("/api/v1/keys/u1/deletion", admin, {"waitingPeriodDays": 0})
    assert sched.status_code == 202, sched.text
    destroyed = run_cli(tmp_path, "keys", "destroy-due")
    assert destroyed.returncode == 0, destroyed.stderr
    assert "destroyed 1 key(s)" in destroyed.stderr

    def decrypt_u1() -> httpx.Response:
        return server.post("/api/v1/decrypt", admin, {"userId": "u1", "data": old_ct})

    gone = poll(decrypt_u1, lambda r: r.status_code == 410)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "KEY004", gone.text
    # The other user's key is untouched.
    other = server.post("/api/v1/encrypt", admin, {"userId": "u2", "data": ["y"]})
    assert other.status_code == 200
    assert other.json()["encryptedData"][0].startswith("sr:v1:")

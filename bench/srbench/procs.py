"""Subprocess helpers: free ports, process groups, waiting for HTTP readiness."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    cmd: Sequence[str], env: dict[str, str], cwd: Path, log_stem: str
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in its own process group, stdout/stderr to ``cwd/log_stem.{out,err}``."""
    out = (cwd / f"{log_stem}.out").open("ab")
    err = (cwd / f"{log_stem}.err").open("ab")
    return subprocess.Popen(
        list(cmd), cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True
    )


def stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return f"({path} does not exist)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def raise_fd_limit(needed: int) -> str:
    """Raise this process's RLIMIT_NOFILE soft limit toward ``needed`` (children inherit
    it: wrk with 2000 connections needs 2000 descriptors, the server as many)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    now = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return f"RLIMIT_NOFILE {now}" + ("" if now >= needed else f" (< {needed}!)")


def group_pids(pgid: int | None) -> set[int]:
    """Live processes of a process group (a server and its workers), from /proc."""
    if pgid is None:
        return set()
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def error_lines(path: Path) -> list[str]:
    """Lines of a server log that look like errors (tracebacks, ERROR, CRITICAL)."""
    if not path.exists():
        return []
    marks = ("Traceback", "ERROR", "Error:", "CRITICAL", "exception")
    text = path.read_text(errors="replace").splitlines()
    return [ln for ln in text if any(m in ln for m in marks)]


class StartupError(RuntimeError):
    """A service did not come up; the message carries its log tail."""


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200; fail fast if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartupError(f"exited with {proc.returncode}; {log} tail:\n{tail(log)}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise StartupError(f"{url} not ready after {timeout:.0f}s; {log} tail:\n{tail(log)}")

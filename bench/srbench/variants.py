"""Code variants served on one database: a git ref (exported) or a source tree.

``bench/cpu_per_request.py`` compares the CPU cost of a request between two versions
of the service. Both run from this venv's interpreter (same dependencies) with
``PYTHONPATH`` pointing at the variant's ``src`` (which wins over the venv's
editable install, checked by ``check_imports``), one after the other on the same
database, so that nothing but the code differs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from srbench import procs

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Variant:
    name: str
    src: Path  # the tree that holds the ``strongroom`` package

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {**base, "PYTHONPATH": str(self.src)}

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "strongroom"]


def resolve(spec: str, name: str, scratch: Path) -> Variant:
    """``spec``: a directory holding ``src/strongroom`` (a worktree), or a git ref of
    this repository, exported with ``git archive`` into ``scratch``."""
    path = Path(spec)
    if (path / "src" / "strongroom").is_dir():
        return Variant(name, (path / "src").resolve())
    out = scratch / name
    out.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", spec, "src"],
        capture_output=True,
        check=True,
    ).stdout
    with tempfile.TemporaryFile() as f:
        f.write(archive)
        f.seek(0)
        with tarfile.open(fileobj=f) as tar:
            tar.extractall(out, filter="data")
    return Variant(f"{name} ({spec})", out / "src")


def check_imports(v: Variant, env: dict[str, str]) -> None:
    """The variant's interpreter must import ``strongroom`` from the variant's tree."""
    code = "import strongroom, sys; sys.stdout.write(strongroom.__file__)"
    got = subprocess.run(
        [sys.executable, "-c", code], env=v.env(env), capture_output=True, text=True, check=True
    ).stdout
    if not Path(got).resolve().is_relative_to(v.src):
        raise RuntimeError(f"{v.name}: strongroom imported from {got}, not {v.src}")


class Server:
    """``strongroom serve --workers N`` of one variant; the caller stops it."""

    def __init__(self, v: Variant, env: dict[str, str], cwd: Path, workers: int) -> None:
        self.variant = v
        self.port = procs.free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = v.env(env) | {"STRONGROOM_PORT": str(self.port)}
        cmd = [*v.command, "serve", "--workers", str(workers)]
        self.log = cwd / "server.err"
        self.proc = procs.start(cmd, env, cwd, "server")
        try:
            procs.wait_http(f"{self.base_url}/healthz", self.proc, self.log)
        except procs.StartupError:
            procs.stop(self.proc)
            raise

    @property
    def pgid(self) -> int:
        return self.proc.pid  # its own session: pgid == pid

    def stop(self) -> None:
        procs.stop(self.proc)


def group_cpu_seconds(pgid: int) -> float:
    """utime + stime of every live process in the group (/proc/PID/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in procs.group_pids(pgid):
        try:
            rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(rest[11]) + int(rest[12])
    return total / tick


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """utime + stime of each thread of ``pid`` (/proc/PID/task/TID/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            rest = task.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(task.parent.name)] = (int(rest[11]) + int(rest[12])) / tick
    return out


def post(url: str, body: dict[str, object], headers: dict[str, str]) -> dict[str, object]:
    r = httpx.post(url, json=body, headers=headers, timeout=30)
    if r.status_code not in (200, 201):
        raise RuntimeError(f"POST {url}: {r.status_code} {r.text[:300]}")
    out: dict[str, object] = r.json()
    return out

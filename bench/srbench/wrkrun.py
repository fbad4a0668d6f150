"""Run wrk with bench/wrk/post.lua and parse its WRK_RESULT line."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent.parent / "wrk" / "post.lua"
MARKER = "WRK_RESULT "


@dataclass(frozen=True)
class WrkConfig:
    duration: float
    threads: int
    connections: int
    timeout_s: int = 10


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    non200: int
    statuses: str
    socket_errors: int  # connect + read + write errors + timeouts
    command: str
    # The breakdown (bench/load.py prints it); 0 from an older post.lua.
    non2xx: int = 0
    shed: int = 0  # 503 answers that carried Retry-After (deliberate load shedding)
    s503: int = 0  # every 503, shed or not
    s500: int = 0
    err_connect: int = 0
    err_read: int = 0
    err_write: int = 0
    err_timeout: int = 0  # no answer within wrk's --timeout
    tally: str = ""  # "503:SYS001=12 500:SYS001=3": status and error code of the non-200s

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


class WrkError(RuntimeError):
    pass


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkError("wrk not found on PATH (apt-get install wrk)")
    return found


def command(
    cfg: WrkConfig,
    url: str,
    body: Path,
    headers: dict[str, str],
    lua: Path = LUA,
    script_args: list[str] | None = None,
) -> list[str]:
    """``script_args``: what the script takes before the header pairs (default: the
    body file, as post.lua wants)."""
    cmd = [
        wrk_binary(),
        f"-t{cfg.threads}",
        f"-c{cfg.connections}",
        f"-d{cfg.duration:g}s",
        f"--timeout={cfg.timeout_s}s",
        "-s",
        str(lua),
        url,
        "--",
        *(script_args if script_args is not None else [str(body)]),
    ]
    for name, value in headers.items():
        cmd += [name, value]
    return cmd


def _parse(stdout: str, cmd_text: str) -> WrkResult:
    line = next((ln for ln in stdout.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        raise WrkError(f"no {MARKER.strip()} line from wrk:\n{stdout[-2000:]}")
    d = json.loads(line[len(MARKER) :])
    sock = sum(d[k] for k in ("err_connect", "err_read", "err_write", "err_timeout"))
    return WrkResult(
        requests=d["requests"],
        duration_s=d["duration_s"],
        p50_ms=d["p50_ms"],
        p99_ms=d["p99_ms"],
        non200=d["non200"],
        statuses=" ".join(sorted(set(d["statuses"].split()))),
        socket_errors=sock,
        command=cmd_text,
        non2xx=d.get("non2xx", d["non200"]),
        shed=d.get("shed", 0),
        s503=d.get("s503", 0),
        s500=d.get("s500", 0),
        err_connect=d["err_connect"],
        err_read=d["err_read"],
        err_write=d["err_write"],
        err_timeout=d["err_timeout"],
        tally=" ".join(f"{k}={n}" for k, n in sorted(d.get("tally", {}).items())),
    )


def redact(cmd: list[str], secret: str) -> str:
    return shlex.join(["<key>" if secret and part == secret else part for part in cmd])


def run(
    cfg: WrkConfig,
    url: str,
    body: Path,
    headers: dict[str, str],
    lua: Path = LUA,
    script_args: list[str] | None = None,
) -> WrkResult:
    cmd = command(cfg, url, body, headers, lua, script_args)
    secret = next(iter(headers.values()), "")
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=cfg.duration + 60, check=False
    )
    if proc.returncode != 0:
        raise WrkError(f"wrk exited {proc.returncode}: {proc.stderr[-2000:]}")
    return _parse(proc.stdout, redact(cmd, secret))

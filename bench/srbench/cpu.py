"""Where the CPU went during a run: the server's process group, wrk, or someone else.

The machine is shared (2 cores); a run during which other processes were busy
is not comparable. Reads /proc (Linux only); all figures in CPU-seconds.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Snapshot:
    wall: float
    busy: float  # whole machine
    group: float  # the server's process groups
    children: float  # reaped children of this process (wrk)
    own: float  # this process


def _machine_busy() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / _TICK


def _group_cpu(pgids: set[int]) -> float:
    if not pgids:
        return 0.0
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            rest = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(rest[2]) in pgids:
            total += int(rest[11]) + int(rest[12])
    return total / _TICK


def _rusage_s(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def snapshot(*pgids: int | None) -> Snapshot:
    """``pgids``: the server's process groups (e.g. the service and its database)."""
    return Snapshot(
        wall=time.monotonic(),
        busy=_machine_busy(),
        group=_group_cpu({g for g in pgids if g is not None}),
        children=_rusage_s(resource.RUSAGE_CHILDREN),
        own=_rusage_s(resource.RUSAGE_SELF),
    )


@dataclass(frozen=True)
class Usage:
    server_cores: float  # CPU-seconds per second used by the server group
    wrk_cores: float  # the same for wrk (reaped children of this process)
    other_pct: float  # share of all cores used by processes that are not ours


def usage(a: Snapshot, b: Snapshot) -> Usage:
    wall = max(b.wall - a.wall, 1e-9)
    server = b.group - a.group
    wrk = b.children - a.children
    other = max(0.0, (b.busy - a.busy) - server - wrk - (b.own - a.own))
    return Usage(server / wall, wrk / wall, 100.0 * other / (wall * (os.cpu_count() or 1)))

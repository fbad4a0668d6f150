"""After the heaviest load: is the service healthy without a restart, and does the
audit trail it wrote under load verify?

Issue #14's acceptance: after an overload run the service answers ``/readyz`` at once
and serves a normal request, and ``strongroom audit verify`` passes on its database.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import httpx

from srbench import apis, payloads
from srbench.strongroom import Strongroom

READY_WITHIN_S = 1.0  # "answers quickly": well under a client's usual timeout
PROBE_TIMEOUT_S = 10.0


@dataclass
class AfterOverload:
    store: str
    readyz_status: int | None = None  # None: no answer within PROBE_TIMEOUT_S
    readyz_s: float | None = None
    readyz_body: str = ""
    request_ok: bool = False
    request_s: float | None = None
    request_error: str = ""
    verify_rc: int | None = None
    verify_s: float | None = None
    verify_summary: str = ""

    @property
    def ready_quickly(self) -> bool:
        return self.readyz_status == 200 and (self.readyz_s or 0.0) < READY_WITHIN_S


def _readyz(sr: Strongroom, out: AfterOverload) -> None:
    t0 = time.perf_counter()
    try:
        r = httpx.get(f"{sr.base_url}/readyz", timeout=PROBE_TIMEOUT_S)
    except httpx.HTTPError as e:
        out.readyz_body = f"{type(e).__name__}: {e}"[:200]
        return
    out.readyz_s = time.perf_counter() - t0
    out.readyz_status = r.status_code
    out.readyz_body = r.text[:200]


def _request(api: apis.Api, out: AfterOverload) -> None:
    """One single-item encrypt and its decrypt, checked like every wrk body is."""
    data = payloads.items(1, seed=14)
    t0 = time.perf_counter()
    try:
        apis.check_decrypt(api, apis.check_encrypt(api, data), data)
    except (apis.CheckFailed, KeyError, ValueError) as e:
        out.request_error = str(e)[:200]
        return
    out.request_s = time.perf_counter() - t0
    out.request_ok = True


def _summary(stdout: str, stderr: str) -> str:
    try:
        doc = json.loads(stdout)
    except ValueError:
        lines = (stdout + stderr).strip().splitlines()
        return lines[-1][:300] if lines else "(no output)"
    first = doc.get("first_bad")
    return (
        f"ok={doc.get('ok')} records={doc.get('records')} segments={doc.get('segments')} "
        f"checkpoints={doc.get('checkpoints')} findings={len(doc.get('findings') or [])} "
        f"truncated={len(doc.get('truncated') or [])}" + (f" first_bad={first}" if first else "")
    )[:500]


def check(sr: Strongroom, api: apis.Api, store: str) -> AfterOverload:
    """Probe the running server, then stop it and verify its audit trail (same env)."""
    out = AfterOverload(store)
    _readyz(sr, out)
    _request(api, out)
    sr.stop()
    t0 = time.perf_counter()
    done = sr.cli("audit", "verify", "--json")
    out.verify_s = time.perf_counter() - t0
    out.verify_rc = done.returncode
    out.verify_summary = _summary(done.stdout, done.stderr)
    return out


def describe(a: AfterOverload) -> str:
    ready = (
        f"/readyz {a.readyz_status} in {a.readyz_s * 1000:.0f} ms"
        if a.readyz_status is not None and a.readyz_s is not None
        else f"/readyz no answer ({a.readyz_body})"
    )
    req = (
        f"encrypt+decrypt OK in {a.request_s * 1000:.0f} ms"
        if a.request_ok and a.request_s is not None
        else f"request FAILED: {a.request_error}"
    )
    verify = f"audit verify exit {a.verify_rc} in {a.verify_s or 0:.1f} s: {a.verify_summary}"
    return f"{a.store}: {ready}; {req}; {verify}"

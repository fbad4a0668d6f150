"""1,000 generated certificates imported: every inventory query (``expiresBefore``,
``issuer``, ``san``, any combination, any page size, followed through its cursors)
answers exactly what a brute-force filter over the generated certificates answers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.context import Actor
from strongroom.pki.facts import issuer_matches, san_matches
from tests.api.certificate_helpers import DOMAINS, EPOCH, HOSTS, Generated, pem, population
from tests.api.conftest import App

N = 1000
SYSTEM = Actor("test", "default", "test-import", None)


def brute(
    certs: list[Generated], before: datetime | None, issuer: str | None, san: str | None
) -> list[str]:
    hits = [
        c
        for c in certs
        if (before is None or c.not_after < before)
        and (issuer is None or issuer_matches(issuer, c.issuer))
        and (san is None or san_matches(san, c.sans))
    ]
    return [c.fingerprint for c in sorted(hits, key=lambda c: (c.not_after, c.fingerprint))]


async def query_all(app: App, params: dict[str, Any]) -> list[str]:
    out: list[str] = []
    cursor = None
    while True:
        q = {**params, **({"cursor": cursor} if cursor else {})}
        r = await app.client.get("/api/v1/certificates", params=q, headers=app.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= params.get("limit", 100)
        out += [i["fingerprint"] for i in body["items"]]
        cursor = body["nextCursor"]
        if cursor is None:
            return out


instants = st.integers(min_value=-420, max_value=720).map(
    lambda d: EPOCH + timedelta(days=d, hours=d % 24)
)
issuers = st.sampled_from(
    ["Tests Issuing A", "tests issuing", "CN=Other", "O=Strongroom Tests", "nobody", "_", "%"]
)
sans = st.one_of(
    st.builds(lambda h, d: f"{h}.{d}", st.sampled_from([*HOSTS, "zzz"]), st.sampled_from(DOMAINS)),
    st.sampled_from([f"*.{d}" for d in DOMAINS] + ["example.com", "API.EXAMPLE.COM", "a.b.c"]),
)


@dataclass(repr=False)
class Inventory:
    """(Short repr: hypothesis prints the arguments of a failing example.)"""

    app: App
    facts: list[Generated]
    ca_fps: set[str]

    def __repr__(self) -> str:
        return f"Inventory({len(self.facts)} leaves)"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit_enabled": False}


@pytest.fixture
async def inventory(app: App) -> Inventory:
    """The app with N leaves and their CAs imported (through the service: the same
    import path as the API, without 1,000 HTTP round trips)."""
    started = time.perf_counter()
    cas, made = population(N)
    generated = time.perf_counter()
    inv = app.services.certificates
    for ca in cas:
        await inv.import_bundle(SYSTEM, "pem", pem(ca.cert).encode())
    # In bundles of 50 (one transaction each): the leaves are unrelated, each indexed
    # and linked to its issuer as if imported alone (the CNs differ: no renewals).
    for i in range(0, N, 50):
        bundle = "".join(pem(cert) for cert, _ in made[i : i + 50])
        await inv.import_bundle(SYSTEM, "pem", bundle.encode())
    imported = time.perf_counter()
    print(f"generated {N} in {generated - started:.1f} s, imported in {imported - generated:.1f} s")
    facts = [g for _, g in made]
    everything = await query_all(app, {"limit": 500})
    ca_fps = set(everything) - {g.fingerprint for g in facts}
    assert len(everything) == N + len(cas) and len(ca_fps) == len(cas)
    return Inventory(app, facts, ca_fps)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    before=st.none() | instants,
    issuer=st.none() | issuers,
    san=st.none() | sans,
    limit=st.sampled_from([1, 7, 100, 500]),  # raised to keep ~20 pages at most
)
async def test_every_query_equals_brute_force(
    inventory: Inventory,
    before: datetime | None,
    issuer: str | None,
    san: str | None,
    limit: int,
) -> None:
    app, facts, ca_fps = inventory.app, inventory.facts, inventory.ca_fps
    params: dict[str, Any] = {"limit": limit}
    if before is not None:
        params["expiresBefore"] = before.isoformat()
    if issuer is not None:
        params["issuer"] = issuer
    if san is not None:
        params["san"] = san
    expected = brute(facts, before, issuer, san)
    params["limit"] = max(limit, len(expected) // 20)  # at most ~20 pages per example
    got = [fp for fp in await query_all(app, params) if fp not in ca_fps]
    assert got == expected


async def test_a_bad_cursor_or_query_is_400(app: App) -> None:
    for params in ({"cursor": "garbage"}, {"limit": 0}, {"expiresBefore": "soon"}, {"sn": "x"}):
        r = await app.client.get("/api/v1/certificates", params=params, headers=app.headers)
        assert r.status_code == 400, (params, r.text)
    # The edges of the calendar, whose UTC falls outside it: answered, not a 5xx.
    for when in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        params = {"expiresBefore": when}
        r = await app.client.get("/api/v1/certificates", params=params, headers=app.headers)
        assert r.status_code == 200, (when, r.text)

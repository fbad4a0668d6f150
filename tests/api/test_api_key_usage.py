"""``GET /api/v1/projects/{p}/api-keys/{k}/usage`` over the ASGI stack on SQLite and
PostgreSQL: counts equal the uses made, whether flushed or still buffered, by hour
and by day; bad ranges and granularities are 400 with a stable code; the route needs
``api-keys:read`` on the key's resource path and its read is audited.

Stored keys are resolved through ``KeyDirectory.describe``; a directory double stands
in for the stored keys' until they are wired (credentials/contract.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from strongroom.context import Actor
from strongroom.credentials.contract import KeyState, KeySummary, Sensitivity, Use, UseKind
from strongroom.errors import NotFound
from strongroom.store.models import AuditRecord
from tests.api.access_helpers import issue
from tests.api.conftest import App

URL = "/api/v1/projects/billing/api-keys/stripe/usage"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@dataclass
class Directory:
    """A ``KeyDirectory`` double: keys by (tenant, project, name)."""

    keys: dict[tuple[str, str, str], int] = field(default_factory=dict)
    blocked: list[tuple[str, int, str]] = field(default_factory=list)

    async def usable(self, actor: Actor) -> list[KeySummary]:
        return []

    async def describe(self, actor: Actor, project: str, key: str) -> KeySummary:
        key_id = self.keys.get((actor.tenant, project, key))
        if key_id is None:
            raise NotFound()
        return KeySummary(
            actor.tenant, project, key, key_id, "stripe", ("api.stripe.com",), {},
            KeyState.ACTIVE, Sensitivity.LOW, None,
        )  # fmt: skip

    async def block(self, tenant: str, key_id: int, reason: str) -> None:
        self.blocked.append((tenant, key_id, reason))


def use(at: datetime, caller: str = "ak_one", status: int | None = 200, **kw: Any) -> Use:
    values: dict[str, Any] = {
        "tenant": "default",
        "key_id": 7,
        "kind": UseKind.BROKER,
        "caller": caller,
        "source": "203.0.113.9",
        "host": "api.stripe.com",
        "status": status,
        "at": at,
    }
    return Use(**{**values, **kw})


@pytest.fixture
def directory(app: App) -> Directory:
    d = Directory({("default", "billing", "stripe"): 7, ("default", "ops", "github"): 8})
    app.services.usage_queries.directory = d
    return d


async def test_counts_equal_the_uses_made_by_hour_and_by_day(
    app: App, directory: Directory
) -> None:
    rec = app.services.usage
    made = 0
    for i in range(50):  # hour 10: 40 successes, 10 upstream 502s
        rec.record(use(T0 + timedelta(minutes=i), status=502 if i % 5 == 0 else 200))
        made += 1
    await rec.flush()  # these are in the database ...
    for i in range(7):  # ... these only in this replica's memory
        rec.record(use(T0 + timedelta(hours=3, minutes=i), caller="ak_two", source="192.0.2.4"))
        made += 1
    rec.record(use(T0 + timedelta(hours=3), kind=UseKind.DENIED, host="evil.example", status=None))
    rec.record(use(T0 + timedelta(days=1), kind=UseKind.REVEAL, host=None, status=None))
    made += 2
    q = {"from": "2026-12-01T00:00:00Z", "to": "2026-12-03T00:00:00Z", "granularity": "hour"}
    r = await app.client.get(URL, params=q, headers=app.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == made == 59
    assert len(body["buckets"]) == 48
    by_start = {b["start"]: b for b in body["buckets"] if b["count"]}
    assert by_start["2026-12-01T10:00:00Z"]["byStatusClass"] == {"2xx": 40, "5xx": 10}
    assert by_start["2026-12-01T13:00:00Z"]["byStatusClass"] == {"2xx": 7, "denied": 1}
    assert by_start["2026-12-02T10:00:00Z"]["byStatusClass"] == {"none": 1}
    assert body["byKind"] == {"broker": 57, "denied": 1, "reveal": 1}
    assert {c["name"]: c["count"] for c in body["byCaller"]} == {"ak_one": 52, "ak_two": 7}
    assert body["byHost"][0] == {"name": "api.stripe.com", "count": 57}
    assert body["lastUsed"] == {
        "at": "2026-12-02T10:00:00Z",
        "caller": "ak_one",
        "source": "203.0.113.9",
    }
    assert [s["address"] for s in body["recentSources"]] == ["203.0.113.9", "192.0.2.4"]
    q["granularity"] = "day"
    r = await app.client.get(URL, params=q, headers=app.headers)
    days = [(b["start"], b["count"]) for b in r.json()["buckets"]]
    assert days == [("2026-12-01T00:00:00Z", 58), ("2026-12-02T00:00:00Z", 1)]
    await rec.flush()  # once flushed, the same answer from the database alone
    again = await app.client.get(URL, params=q, headers=app.headers)
    assert again.json() == r.json()
    # Another key of the tenant saw none of it.
    other = await app.client.get(
        "/api/v1/projects/ops/api-keys/github/usage", params=q, headers=app.headers
    )
    assert other.json()["total"] == 0 and other.json()["lastUsed"] is None


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"granularity": "week"}, "USG002"),
        ({"granularity": ""}, "USG002"),
        ({"from": "yesterday"}, "USG001"),
        ({"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}, "USG001"),
        ({"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}, "USG001"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}, "USG001"),
        ({"granularity": "day", "from": "2020-01-01", "to": "2026-01-01"}, "USG001"),
        ({"from": "0001-01-01T00:00:00+14:00"}, "USG001"),
        ({"to": "9999-12-31T23:59:59Z"}, "USG001"),
    ],
)
async def test_bad_ranges_and_granularities_are_400_with_a_stable_code(
    app: App, directory: Directory, query: dict[str, str], code: str
) -> None:
    r = await app.client.get(URL, params=query, headers=app.headers)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_an_unknown_key_is_404(app: App, directory: Directory) -> None:
    r = await app.client.get("/api/v1/projects/billing/api-keys/nope/usage", headers=app.headers)
    assert r.status_code == 404


async def test_needs_api_keys_read_on_the_key_and_is_audited(
    app: App, directory: Directory
) -> None:
    grant = {"permission": "api-keys:read", "resource": "billing/*"}
    made = await app.client.put(
        "/api/v1/roles/billing-reader", json={"grants": [grant]}, headers=app.headers
    )
    assert made.status_code == 201, made.text
    reader = (await issue(app, ["billing-reader"]))["key"]
    plain = (await issue(app, ["user"]))["key"]
    ok = await app.client.get(URL, headers={"X-API-Key": reader, "X-Request-Id": "usage-ok"})
    assert ok.status_code == 200, ok.text
    other = "/api/v1/projects/ops/api-keys/github/usage"
    assert (await app.client.get(other, headers={"X-API-Key": reader})).status_code == 403
    assert (await app.client.get(URL, headers={"X-API-Key": plain})).status_code == 403
    async with app.services.db.read() as s:
        q = select(AuditRecord.action, AuditRecord.target).where(
            AuditRecord.request_id == "usage-ok"
        )
        assert (await s.execute(q)).all() == [("api.read", "billing/stripe")]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_without_stored_keys_the_route_is_404(app: App) -> None:
    app.services.usage_queries.directory = None
    r = await app.client.get(URL, headers=app.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "USG003"


def _series(text: str, name: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{")
    }


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_metrics_count_uses_by_kind_and_status_class_only(
    app: App, directory: Directory
) -> None:
    name = "strongroom_api_key_uses_total"
    before = _series((await app.get("/metrics")).text, name)
    caller, host, source = "ak_metrics_7f3a", "metrics-host.example", "192.0.2.77"
    for status in (200, 201, 401, 503, None):
        app.services.usage.record(use(T0, caller=caller, host=host, source=source, status=status))
    app.services.usage.record(use(T0, kind=UseKind.DENIED, caller=caller, host=host, status=None))
    text = (await app.get("/metrics")).text
    after = _series(text, name)
    delta = {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}
    assert delta == {
        f'{name}{{kind="broker",status_class="2xx"}}': 2.0,
        f'{name}{{kind="broker",status_class="4xx"}}': 1.0,
        f'{name}{{kind="broker",status_class="5xx"}}': 1.0,
        f'{name}{{kind="broker",status_class="none"}}': 1.0,
        f'{name}{{kind="denied",status_class="denied"}}': 1.0,
    }
    for secret in (caller, host, source, "key_id", "tenant"):
        assert secret not in text


async def test_anomalies_are_audited_and_counted_for_the_risk_score(
    app: App, directory: Directory
) -> None:
    svc = app.services
    for m in range(3):  # a denied host, three times in one episode
        svc.usage.record(use(T0 + timedelta(minutes=m), kind=UseKind.DENIED, status=None))
    await svc.anomalies.drain()
    await svc.alerts.drain()
    async with svc.db.read() as s:
        q = select(AuditRecord.action, AuditRecord.target, AuditRecord.tenant_id).where(
            AuditRecord.action.startswith("security.usage.")
        )
        assert (await s.execute(q)).all() == [
            ("security.usage.denied_host", "api-key:7", "default")
        ]
    facts = svc.usage_queries
    assert await facts.anomalies_since("default", 7, T0 - timedelta(days=1)) == 1
    assert await facts.anomalies_since("default", 8, T0 - timedelta(days=1)) == 0
    assert await facts.anomalies_since("other", 7, T0 - timedelta(days=1)) == 0
    assert await facts.has_used("default", 7, "ak_one")  # buffered ...
    await svc.usage.flush()
    assert await facts.has_used("default", 7, "ak_one")  # ... and written
    assert not await facts.has_used("default", 7, "ak_nobody")
    assert not await facts.has_used("default", 8, "ak_one")


# --- with the stored keys' own directory (credentials/resolver.py) -----------------------


async def test_reveals_of_a_stored_key_are_counted_exactly(app: App) -> None:
    from tests.api.api_key_helpers import keys_url, project, req, stored
    from tests.api.secret_helpers import key_with_grants

    await project(app, "billing")
    await stored(app, "billing", "stripe", "sk-live-USAGE-0000aa")
    revealer = await key_with_grants(
        app, "usage-revealer", [{"permission": "api-keys:reveal", "resource": "billing/*"}]
    )
    for _ in range(5):
        r = await req(app, "POST", keys_url("billing", "stripe") + "/reveal", revealer)
        assert r.status_code == 200, r.text
    got = await app.client.get(URL, params={"granularity": "day"}, headers=app.headers)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["total"] == 5 and body["byKind"] == {"reveal": 5}
    assert body["byStatusClass"] == {"none": 5}
    assert len(body["byCaller"]) == 1 and body["byCaller"][0]["count"] == 5
    assert body["lastUsed"]["caller"] == body["byCaller"][0]["name"]
    assert "sk-live-USAGE-0000aa" not in got.text
    missing = await app.client.get(
        "/api/v1/projects/billing/api-keys/nope/usage", headers=app.headers
    )
    assert missing.status_code == 404


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("settings_overrides", [{"usage_auto_block": ["denied_host"]}])
async def test_an_automatic_block_blocks_the_stored_key(app: App) -> None:
    from tests.api.api_key_helpers import keys_url, project, req, stored

    await project(app, "billing")
    made = await stored(app, "billing", "stripe", "sk-live-USAGE-0000bb")
    key_id = int(made["id"]) if "id" in made else None
    summary = await app.services.key_directory.describe(
        Actor("test", "default", "rid", None), "billing", "stripe"
    )
    assert key_id is None or key_id == summary.key_id
    app.services.usage.record(
        use(datetime.now(UTC), key_id=summary.key_id, kind=UseKind.DENIED, host="evil.example",
            status=None)
    )  # fmt: skip
    await app.services.anomalies.drain()
    await app.services.alerts.drain()
    state = (await req(app, "GET", keys_url("billing", "stripe"))).json()["state"]
    assert state == "blocked"

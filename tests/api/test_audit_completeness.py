"""Audit completeness (issue #15, item 8): denials name their target, the written-records
metric counts every record, a tenant-bound auditor verifies its own tenant, and each
request leaves one structured access-log line."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from strongroom.observability.metrics import AUDIT_RECORDS
from strongroom.store.models import AuditRecord
from tests.api.access_helpers import issue
from tests.api.audit_helpers import denied_records
from tests.api.conftest import App

SENSITIVE = [{"audit_sensitive_identifiers": ["userId"]}]


async def _probe(app: App) -> str:
    """An encrypt-only key probes alice's key through a body and a path userId."""
    key = (await issue(app, ["encrypt-only"]))["key"]
    headers = {"X-API-Key": key}
    r = await app.client.post(
        "/api/v1/decrypt",
        json={"userId": "alice", "data": ["sr:v1:AAAA"]},
        headers={**headers, "X-Request-Id": "probe-body"},
    )
    assert r.status_code == 403, r.text
    r = await app.client.post(
        "/api/v1/keys/alice/deletion", headers={**headers, "X-Request-Id": "probe-path"}
    )
    assert r.status_code == 403, r.text
    return str(key)


async def test_denials_record_the_probed_user(app: App) -> None:
    await _probe(app)
    for rid in ("probe-body", "probe-path"):
        [rec] = await denied_records(app, rid)
        assert rec.target == "alice", rid


@pytest.mark.parametrize("settings_overrides", SENSITIVE)
async def test_denials_record_a_keyed_tag_where_user_ids_are_sensitive(app: App) -> None:
    await _probe(app)
    targets = {(await denied_records(app, rid))[0].target for rid in ("probe-body", "probe-path")}
    [tag] = targets
    assert tag is not None and tag.startswith("hmac:")
    r = await app.client.get("/api/v1/audit/lookup", params={"value": "alice"}, headers=app.headers)
    found: list[dict[str, Any]] = r.json()["records"]
    assert sum(x["action"] == "authz.denied" for x in found) == 2


def _written() -> float:
    return float(AUDIT_RECORDS.labels("written")._value.get())


async def _stored(app: App) -> int:
    async with app.services.db.read() as s:
        return int((await s.execute(select(func.count()).select_from(AuditRecord))).scalar_one())


async def test_records_written_inside_a_transaction_are_counted(app: App) -> None:
    before, rows = _written(), await _stored(app)
    # Each access key is created in one transaction with its record (record_in).
    await app.services.access.create("default", ["user"], "metric probe")
    await app.services.access.create("default", ["user"], "metric probe 2")
    assert await _stored(app) - rows == 2
    assert _written() - before == 2

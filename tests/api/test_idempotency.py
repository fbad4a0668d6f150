"""``Idempotency-Key`` on writes (api/idempotency.py): a retried write is answered from
the first answer and never runs twice. Real HTTP through the ASGI stack, on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from strongroom.audit import release
from strongroom.audit.service import AuditLog
from strongroom.errors import DatabaseUnavailable
from strongroom.keys.service import KeyService
from tests.api.access_helpers import audit_rows, error_code, issue
from tests.api.conftest import App


async def post(
    app: App, path: str, body: Any, idem: str | None, key: str | None = None
) -> httpx.Response:
    headers = {"X-API-Key": key or app.admin_key}
    if idem is not None:
        headers["Idempotency-Key"] = idem
    return await app.client.post(path, json=body, headers=headers)


async def rows(app: App) -> list[Any]:
    async with app.services.db.read() as s:
        result = await s.execute(text("SELECT * FROM idempotency_keys"))
        return list(result.mappings())


async def test_a_retried_create_is_answered_from_the_first_and_runs_once(app: App) -> None:
    first = await post(app, "/api/v1/keys", {"userId": "alice"}, "create-alice-1")
    again = await post(app, "/api/v1/keys", {"userId": "alice"}, "create-alice-1")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["content-type"] == first.headers["content-type"]
    created = [r for r in await audit_rows(app, "key.create")]
    assert len(created) == 1
    # Without the key the same body runs again (and finds the key there: 409).
    plain = await post(app, "/api/v1/keys", {"userId": "alice"}, None)
    assert plain.status_code == 409


async def test_the_same_key_for_another_request_is_refused(app: App) -> None:
    assert (await post(app, "/api/v1/keys", {"userId": "a"}, "k1")).status_code == 201
    other = await post(app, "/api/v1/keys", {"userId": "b"}, "k1")
    assert other.status_code == 422
    assert error_code(other) == "IDEM002"
    gone = await app.get("/api/v1/keys/b")
    assert gone.status_code == 404  # nothing ran


@pytest.mark.parametrize("bad", ["", "x" * 256, "tab\there"])
async def test_a_malformed_key_is_refused(app: App, bad: str) -> None:
    r = await post(app, "/api/v1/keys", {"userId": "a"}, bad)
    assert r.status_code == 400
    assert error_code(r) == "IDEM001"
    assert (await app.get("/api/v1/keys/a")).status_code == 404
    assert await rows(app) == []


async def test_concurrent_requests_with_one_key_run_once(app: App) -> None:
    before = len(await audit_rows(app, "access_key.create"))  # the test's admin key
    answers = await asyncio.gather(
        *(post(app, "/api/v1/access-keys", {"roles": ["auditor"]}, "same") for _ in range(4))
    )
    statuses = sorted(r.status_code for r in answers)
    assert set(statuses) <= {201, 409}, statuses
    made = {r.json()["key"] for r in answers if r.status_code == 201}
    assert len(made) == 1  # one execution; the others replayed it or were told to wait
    for r in answers:
        if r.status_code == 409:
            assert error_code(r) == "IDEM003"
            assert r.headers["retry-after"] == "1"
    assert len(await audit_rows(app, "access_key.create")) == before + 1


async def test_another_principals_equal_key_is_another_key(app: App) -> None:
    other = (await issue(app, ["admin"]))["key"]
    mine = await post(app, "/api/v1/access-keys", {"roles": ["auditor"]}, "k")
    theirs = await post(app, "/api/v1/access-keys", {"roles": ["auditor"]}, "k", key=other)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["key"] != theirs.json()["key"]
    assert "idempotent-replayed" not in theirs.headers
    assert len(await rows(app)) == 2


async def test_a_5xx_is_not_stored_and_the_key_may_be_retried(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = KeyService.create
    calls = 0

    async def flaky(self: KeyService, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise DatabaseUnavailable()
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(KeyService, "create", flaky)
    failed = await post(app, "/api/v1/keys", {"userId": "carol"}, "retry-me")
    assert failed.status_code == 503
    assert await rows(app) == []
    retried = await post(app, "/api/v1/keys", {"userId": "carol"}, "retry-me")
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert calls == 2


async def test_expired_keys_are_purged_and_new_again(app: App) -> None:
    assert (await post(app, "/api/v1/keys", {"userId": "d"}, "old")).status_code == 201
    later = datetime.now(UTC) + timedelta(seconds=app.settings.idempotency.ttl_seconds + 1)
    assert await app.services.idempotency.purge(datetime.now(UTC)) == 0
    assert await app.services.idempotency.purge(later) == 1
    assert await rows(app) == []
    fresh = await post(app, "/api/v1/keys", {"userId": "e"}, "old")
    assert fresh.status_code == 201  # a new key: no 422 for the other body


async def test_the_stored_answer_holds_no_plaintext(app: App) -> None:
    made = await post(app, "/api/v1/access-keys", {"roles": ["auditor"]}, "canary")
    secret = made.json()["key"]
    again = await post(app, "/api/v1/access-keys", {"roles": ["auditor"]}, "canary")
    assert again.json()["key"] == secret
    (row,) = await rows(app)
    assert row["status"] == 201
    raw = b"".join(
        v if isinstance(v, bytes) else str(v).encode() for v in row.values() if v is not None
    )
    assert secret.encode() not in raw
    assert secret.split(".")[-1].encode() not in raw


async def test_the_fast_lane_replays_too(app: App) -> None:
    await app.create_key("frank")
    body = {"userId": "frank", "data": ["hello"]}
    first = await post(app, "/api/v1/encrypt", body, "enc-1")
    again = await post(app, "/api/v1/encrypt", body, "enc-1")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content  # ciphertexts are random: this is a replay
    assert again.headers["idempotent-replayed"] == "true"


async def test_unauthenticated_writes_claim_nothing(app: App) -> None:
    r = await post(app, "/api/v1/keys", {"userId": "a"}, "k", key="sr_nope")
    assert r.status_code == 401
    assert await rows(app) == []


async def test_the_purge_is_a_scheduled_job(app: App) -> None:
    job = app.services.jobs.jobs["idempotency.purge"]
    assert job.interval == app.settings.idempotency.purge_interval_seconds
    assert (await post(app, "/api/v1/keys", {"userId": "g"}, "j")).status_code == 201
    far = datetime.now(UTC) + timedelta(days=2)
    assert await job.run_once(far) == 1
    assert await rows(app) == []


@pytest.mark.parametrize("settings_overrides", [{"idempotency_enabled": False}])
async def test_switched_off_the_header_is_ignored(app: App) -> None:
    assert (await post(app, "/api/v1/keys", {"userId": "h"}, "k")).status_code == 201
    again = await post(app, "/api/v1/keys", {"userId": "h"}, "k")
    assert again.status_code == 409  # ran again: the key exists
    assert await rows(app) == []
    odd = await post(app, "/api/v1/keys", {"userId": "i"}, "x" * 300)
    assert odd.status_code == 201


async def test_an_answer_whose_record_failed_is_not_kept(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fail closed: the 503 in place of an unrecorded answer leaves no answer to replay
    (a retry must not get the plaintext without its record)."""
    await app.create_key("gina")
    ct = await post(app, "/api/v1/encrypt", {"userId": "gina", "data": ["hello"]}, None)
    body = {"userId": "gina", "data": ct.json()["encryptedData"]}
    real = AuditLog.append_before_release

    async def failing(self: AuditLog, event: Any, settled: Any = None) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.set_exception(RuntimeError("audit down"))
        assert release.hold(fut)

    monkeypatch.setattr(AuditLog, "append_before_release", failing)
    refused = await post(app, "/api/v1/decrypt", body, "dec-1")
    assert refused.status_code == 503
    assert await rows(app) == []
    monkeypatch.setattr(AuditLog, "append_before_release", real)
    plain = await post(app, "/api/v1/decrypt", body, "dec-1")
    assert plain.status_code == 200 and "idempotent-replayed" not in plain.headers

"""Every route, driven with canary values, leaks none of them into the audit trail,
the logs, the metrics or an error body.

Canaries: a plaintext, the ciphertext made from it, a real access key (used as the
credential, and tampered), a bearer-like token (as ``Authorization`` and as a jti),
and free text (an access key's description); the plaintext is also written as a vault
secret's value, and searched for in the database file itself. Routes come from ``app.routes``, so a
route added later is driven too (tests/api/routes.py). Beside the trail, logs, metrics
and error bodies, the places searched are every webhook the service sent (security
events and checkpoint anchors) and the checkpoint anchor file.

Shares: the plaintext is also a share's value, with a passphrase canary and the
share's token; these three are searched for in the database itself too (the SQLite
file with its WAL, and every row of the share tables on either backend).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from strongroom.logging import quiet_parameter_tracers
from strongroom.store.models import (
    AuditCheckpoint,
    AuditRecord,
    AuditSegment,
    Share,
    ShareAccess,
)
from tests.api.access_helpers import issue
from tests.api.conftest import App
from tests.api.routes import Ctx, all_paths, asgi_app, order, request_for
from tests.webhooks import TEST_SECRET, HookReceiver, security_hook, serving

PLAINTEXT = "CANARY-plaintext-9d81e2"
DESCRIPTION = "CANARY free text: call Ana re the merger 4b7a"
CLIENT_LOGS = ("httpx", "httpcore")
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJDQU5BUlktYmVhcmVyIjoiNWMzZiJ9.Q0FOQVJZLXNpZw"
PASSPHRASE = "CANARY-passphrase-3e1f7a"


@pytest.fixture
def sink() -> Iterator[HookReceiver]:
    yield from serving(HookReceiver())


@pytest.fixture
def settings_overrides(sink: HookReceiver, tmp_path: Path) -> dict[str, Any]:
    """Every outbound sink on: security events and anchors to ``sink``, anchors to a
    file too; a failed-request budget that the bad credentials do not exhaust."""
    return {
        **security_hook(sink),
        "audit_anchor_file": tmp_path / "anchors.jsonl",
        "audit_anchor_webhook_url": sink.url,
        "audit_anchor_webhook_secret": TEST_SECRET,
        # Two of the credential sets fail on every route: more routes than the address's
        # default budget of failures (60 a minute) would turn the rest into 429s.
        "rate_limit_unauthenticated_per_minute": 1000,
    }


async def _everything_stored(app: App, models: tuple[type[Any], ...]) -> str:
    """Every column of every row of ``models``, bytes as hex, as one string."""
    parts: list[str] = []
    async with app.services.db.read() as s:
        for model in models:
            for row in (await s.execute(select(model))).scalars():
                for column in model.__table__.columns:
                    value = getattr(row, column.key)
                    parts.append(value.hex() if isinstance(value, bytes) else repr(value))
    return "\n".join(parts)


def _database_files(app: App) -> str:
    """The SQLite file and its WAL, as text (latin-1 keeps every byte)."""
    if app.db_path is None:
        return ""
    files = [app.db_path, app.db_path.with_name(app.db_path.name + "-wal")]
    return "".join(p.read_bytes().decode("latin-1") for p in files if p.exists())


async def test_no_canary_anywhere(
    app: App,
    sink: HookReceiver,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_parameter_tracers(logging.DEBUG)  # as configure_logging("DEBUG") leaves them
    made = await issue(app, ["admin"], description=DESCRIPTION)
    access_key: str = made["key"]
    await app.create_key("leak-user")
    await app.create_key("leak-victim")
    [ciphertext] = await app.encrypt("leak-user", [PLAINTEXT])
    target = await issue(app, ["user"])
    share = await app.post(
        "/api/v1/shares",
        {"value": PLAINTEXT, "expiresInSeconds": 600, "views": 5, "passphrase": PASSPHRASE},
    )
    assert share.status_code == 201, share.text
    share_token, share_id = share.json()["token"], share.json()["share"]["id"]
    ctx = Ctx(
        "leak-user",
        "leak-victim",
        ciphertext,
        target["id"],
        plaintext=PLAINTEXT,
        description=DESCRIPTION,
        token=TOKEN,
        share_id=share_id,
        share_token=share_token,
        passphrase=PASSPHRASE,
    )
    # A vault secret holding the plaintext, read back (the route walk below sends an
    # unknown query parameter, which strict GET routes refuse before reading).
    vault = "/api/v1/secrets/data/apps/leak/canary"
    r = await app.client.put(vault, json={"data": {"v": PLAINTEXT}}, headers=app.headers)
    assert r.status_code == 200, r.text
    assert (await app.client.get(vault, headers=app.headers)).json()["data"]["v"] == PLAINTEXT
    tampered = access_key[:-3] + ("aaa" if not access_key.endswith("aaa") else "bbb")
    credentials: list[dict[str, str]] = [
        {"X-API-Key": tampered},
        {"Authorization": f"Bearer {TOKEN}"},
        {"X-API-Key": access_key, "Authorization": f"Bearer {TOKEN}"},
        {"X-API-Key": access_key},  # last: revocation and deletion then take effect
    ]
    errors: list[str] = []
    routes = order(all_paths(asgi_app(app)))
    for headers in credentials:
        for route in routes:
            url, body = request_for(route, ctx)
            kw: dict[str, Any] = {"headers": headers, "params": {"q": TOKEN}}
            if body is not None:
                kw["json"] = body
            r = await app.client.request(route.method, url, **kw)
            if r.status_code >= 400:
                errors.append(f"{route} {r.status_code} {r.text}")
    assert len(errors) >= len(routes), "the bad credentials were not refused"
    metrics = (await app.client.get("/metrics", headers=app.headers)).text
    await app.services.alerts.drain()
    assert await app.services.audit.checkpoint() is not None  # anchored to file and hook
    anchor_file = app.settings.audit.anchors.file
    assert anchor_file is not None

    out, err = capfd.readouterr()
    # The test's own HTTP client logs the URLs it calls; the service never sees them.
    service_logs = [
        caplog.handler.format(r) for r in caplog.records if not r.name.startswith(CLIENT_LOGS)
    ]
    places = {
        "audit": await _everything_stored(app, (AuditRecord, AuditCheckpoint, AuditSegment)),
        "logs": out + err + "\n".join(service_logs),
        "errors": "\n".join(errors),
        "metrics": metrics,
        "webhooks": "\n".join(body.decode() for body in sink.bodies),
        "anchor file": anchor_file.read_text(),
    }
    secret_part = access_key.rsplit("_", 1)[-1]
    canaries = {
        "plaintext": PLAINTEXT,
        "ciphertext": ciphertext,
        "ciphertext payload": ciphertext[-40:],
        "access key": access_key,
        "access key secret": secret_part,
        "tampered key": tampered,
        "tampered secret": tampered.rsplit("_", 1)[-1],
        "bearer token": TOKEN,
        "token signature": TOKEN.rsplit(".", 1)[-1],
        "description": DESCRIPTION,
        "description words": "call Ana re the merger",
    }
    leaks = [
        (where, name)
        for where, text in places.items()
        for name, canary in canaries.items()
        if canary in text
    ]
    assert not leaks, leaks
    # The vault's routes stored the plaintext as a secret value: sealed, so its bytes
    # are nowhere in the database file (nor its WAL), in any encoding a client sent.
    if app.db_path is not None:
        raw = b"".join(
            p.read_bytes()
            for p in (app.db_path, app.db_path.with_name("strongroom.db-wal"))
            if p.exists()
        )
        for form in (PLAINTEXT.encode(), PLAINTEXT.encode("utf-16-le")):
            assert form not in raw
    # The trail did record the traffic (the test drove something).
    assert "access_key.create" in places["audit"] and "key.decrypt" in places["audit"]
    assert "secret.write" in places["audit"] and "secret.read" in places["audit"]
    assert '"rule"' in places["webhooks"] and '"digest"' in places["anchor file"]
    # The database never holds a share's value, passphrase or token in clear.
    stored = _database_files(app) + await _everything_stored(app, (Share, ShareAccess))
    share_canaries = {
        "shared value": PLAINTEXT,
        "passphrase": PASSPHRASE,
        "share token": share_token,
        "share token secret": share_token[4:56],
    }
    assert [n for n, c in {**share_canaries}.items() if c in stored] == []
    assert [n for n, c in share_canaries.items() for t in places.values() if c in t] == []
    assert "share.redeem" in places["audit"] and "share.create" in places["audit"]

"""Rotation over two slots (credentials/rotation.py): the new value serves and the
previous stays known; a failure at any step (hook cannot start, exits non-zero, times
out, prints garbage; the store write fails) leaves the current value serving and
changes nothing; a retried rotation with the same request token rotates once."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from strongroom.context import Actor
from strongroom.store import credentials_repo
from tests.api.access_helpers import audit_rows
from tests.api.api_key_helpers import code, keys_url, project, req, stored
from tests.api.conftest import App

OLD = "sk-old-value-0001"
PY = sys.executable


def _py(src: str, timeout: float = 10.0) -> dict[str, Any]:
    return {"command": [PY, "-c", src], "timeout_seconds": timeout}


HOOKS = {
    "good": _py("import sys,secrets; sys.stdin.read(); print('sk-minted-' + secrets.token_hex(6))"),
    # Proves the current value arrives on stdin (and only there).
    "echo-old": _py("import sys; print(sys.stdin.read().strip() + '-next')"),
    "missing": {"command": ["/nonexistent/rotate-hook"], "timeout_seconds": 5},
    "fails": _py("import sys; sys.exit(3)"),
    "slow": _py("import time; time.sleep(30)", timeout=0.5),
    "garbage": _py("print('two'); print('lines')"),
    "spaces": _py("print('not a key value')"),
    "same": _py("import sys; print(sys.stdin.read().strip())"),
    "webhook-down": {"url": "http://127.0.0.1:9/rotate", "timeout_seconds": 2},
}
pytestmark = pytest.mark.parametrize("settings_overrides", [{"api_keys_rotation_hooks": HOOKS}])


async def _key(app: App, hook: str | None = None) -> str:
    await project(app, "p")
    extra = {"rotationHook": hook} if hook else {}
    await stored(app, "p", "k", OLD, **extra)
    return keys_url("p", "k")


async def _serving(app: App) -> tuple[bytes, bytes | None]:
    t = await app.services.api_key_use.for_use(Actor("t", "default", "r", None), "p", "k")
    return t.value, t.previous


async def test_rotate_with_a_value_keeps_the_previous_for_the_overlap(app: App) -> None:
    url = await _key(app)
    r = await req(app, "POST", url + "/rotate", json={"value": "sk-new-value-0002"})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    assert r.json()["previousUntil"] is not None
    assert await _serving(app) == (b"sk-new-value-0002", OLD.encode())
    assert "sk-new-value-0002" not in r.text


async def test_rotate_with_the_hook(app: App) -> None:
    url = await _key(app, "echo-old")
    r = await req(app, "POST", url + "/rotate", json={"hook": True})
    assert r.status_code == 200, r.text
    assert await _serving(app) == ((OLD + "-next").encode(), OLD.encode())
    await req(app, "PATCH", url, json={"rotationHook": "good"})
    assert (await req(app, "POST", url + "/rotate", json={"hook": True})).status_code == 200
    value, previous = await _serving(app)
    assert value.startswith(b"sk-minted-") and previous == (OLD + "-next").encode()


@pytest.mark.parametrize(
    ("hook", "step"),
    [
        ("missing", "start"),
        ("fails", "exit"),
        ("slow", "timeout"),
        ("garbage", "output"),
        ("spaces", "output"),
        ("same", "output"),
        ("webhook-down", "http"),
    ],
)
async def test_a_failing_hook_leaves_the_current_value_serving(
    app: App, hook: str, step: str
) -> None:
    url = await _key(app, hook)
    r = await req(app, "POST", url + "/rotate", json={"hook": True})
    assert r.status_code == 502 and code(r) == "APK010", r.text
    assert r.json()["error"]["details"]["step"] == step
    assert await _serving(app) == (OLD.encode(), None)
    assert (await req(app, "GET", url)).json()["version"] == 1
    failed = [a for a in await audit_rows(app, "api_key.rotate") if a.outcome == "failure"]
    assert [(a.detail or {}).get("step") for a in failed] == [step]


async def test_a_failed_store_write_leaves_the_current_value_serving(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await _key(app, "good")
    real = credentials_repo.put_value

    async def failing(s: Any, key_id: int, tenant: str, slot: str, *a: Any) -> None:
        if slot == "current":  # after the claim and the previous slot: a mid-way failure
            raise RuntimeError("disk full")
        await real(s, key_id, tenant, slot, *a)

    monkeypatch.setattr(credentials_repo, "put_value", failing)
    for body in ({"hook": True}, {"value": "sk-never-stored-1"}):
        r = await req(app, "POST", url + "/rotate", json=body)
        assert r.status_code == 500, r.text
    monkeypatch.setattr(credentials_repo, "put_value", real)
    assert await _serving(app) == (OLD.encode(), None)
    assert (await req(app, "GET", url)).json()["version"] == 1
    failed = [a for a in await audit_rows(app, "api_key.rotate") if a.outcome == "failure"]
    assert [(a.detail or {}).get("step") for a in failed] == ["store", "store"]


async def test_a_retried_rotation_with_the_same_token_rotates_once(app: App) -> None:
    url = await _key(app, "good")
    body = {"hook": True, "requestToken": "rotation-2026-12-03"}
    first = await req(app, "POST", url + "/rotate", json=body)
    again = await req(app, "POST", url + "/rotate", json=body)
    assert first.status_code == again.status_code == 200
    assert again.json()["replayed"] is True and again.json()["version"] == 2
    value, previous = await _serving(app)
    assert previous == OLD.encode() and value.startswith(b"sk-minted-")
    ok = [a for a in await audit_rows(app, "api_key.rotate") if a.outcome == "success"]
    assert len(ok) == 1


async def test_rotation_input_errors(app: App) -> None:
    url = await _key(app)
    for body, want in (
        ({"hook": True}, "APK011"),  # the key names no hook
        ({}, "ENC001"),
        ({"value": "x y"}, "APK013"),
    ):
        r = await req(app, "POST", url + "/rotate", json=body)
        assert r.status_code == 400 and code(r) == want, (body, r.text)
    assert await _serving(app) == (OLD.encode(), None)

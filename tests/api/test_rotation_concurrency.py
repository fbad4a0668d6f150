"""Two rotations of one key race: exactly one wins, the other gets KEY002."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from strongroom.kms.interfaces import Kms, Wrapped
from tests.api.conftest import App


class SlowWrap:
    """Delays wrap so both rotations read version n before either commits."""

    def __init__(self, inner: Kms, delay: float) -> None:
        self._inner = inner
        self._delay = delay

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> Wrapped:
        await asyncio.sleep(self._delay)
        return await self._inner.wrap(plaintext, context)


async def test_concurrent_rotations_one_wins(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    await app.create_key("race")
    enc = await app.encrypt("race", ["v"])
    core = app.services.keys.core
    monkeypatch.setattr(core, "kms", SlowWrap(core.kms, 0.2))  # duck-typed, not a Kms
    body = {"userId": "race", "data": enc}
    r1, r2 = await asyncio.gather(
        app.post("/api/v1/rotate", body), app.post("/api/v1/rotate", body)
    )
    statuses = sorted([r1.status_code, r2.status_code])
    assert statuses == [200, 409], (r1.text, r2.text)
    loser = r1 if r1.status_code == 409 else r2
    winner = r2 if loser is r1 else r1
    assert loser.json()["error"]["code"] == "KEY002"
    history = (await app.get("/api/v1/keys/race/history")).json()["history"]
    assert [h["version"] for h in history] == [1, 2]
    meta = (await app.get("/api/v1/keys/race")).json()
    assert meta["currentVersion"] == 2 and len(meta["versions"]) == 2
    assert await app.decrypt("race", winner.json()["rotatedData"]) == ["v"]


async def test_many_concurrent_rotations_leave_a_consistent_key(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    await app.create_key("storm")
    core = app.services.keys.core
    monkeypatch.setattr(core, "kms", SlowWrap(core.kms, 0.05))  # duck-typed, not a Kms
    rs = await asyncio.gather(
        *(app.post("/api/v1/rotate", {"userId": "storm", "data": []}) for _ in range(6))
    )
    ok = [r for r in rs if r.status_code == 200]
    assert ok and all(r.status_code in (200, 409) for r in rs)
    meta = (await app.get("/api/v1/keys/storm")).json()
    assert meta["currentVersion"] == 1 + len(ok)
    assert [v["version"] for v in meta["versions"]] == list(range(1, 2 + len(ok)))
    enc = await app.encrypt("storm", ["after"])
    assert enc[0].startswith(f"sr:v{1 + len(ok)}:")

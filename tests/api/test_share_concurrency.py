"""100 parallel redeems of a one-view share: exactly one reveals (SQLite and
PostgreSQL). The view is taken by one conditional UPDATE (store/shares_repo.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.api.conftest import App
from tests.api.share_helpers import SHARES, make_share, redeem, sealed_of


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # 99 failed anonymous redeems from one address would spend its budget (429): the
    # race is what is measured here, not the rate limit (tested on its own below).
    return {"rate_limit_enabled": False}


@pytest.mark.slow
async def test_hundred_parallel_redeems_one_success(app: App) -> None:
    made = await make_share(app, value="exactly-once")
    answers = await asyncio.gather(*(redeem(app, made["token"]) for _ in range(100)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [404] * 99
    assert [r.json()["value"] for r in answers if r.status_code == 200] == ["exactly-once"]
    assert await sealed_of(app, made["share"]["id"]) is None
    log = (await app.get(f"{SHARES}/{made['share']['id']}/accesses?limit=500")).json()
    outcomes = [a["outcome"] for a in log["accesses"]]
    assert outcomes.count("revealed") == 1 and len(outcomes) == 100


@pytest.mark.slow
async def test_parallel_redeems_of_three_views(app: App) -> None:
    made = await make_share(app, views=3)
    answers = await asyncio.gather(*(redeem(app, made["token"]) for _ in range(30)))
    assert sorted(r.status_code for r in answers) == [200] * 3 + [404] * 27

"""Guessing tokens spends the address's unauthenticated budget: 429, audited."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import App
from tests.api.share_helpers import make_share, redeem


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"rate_limit_unauthenticated_per_minute": 5}


async def test_wrong_tokens_are_rate_limited(app: App) -> None:
    made = await make_share(app)
    codes = [(await redeem(app, f"srs_guess_{i}")).status_code for i in range(8)]
    assert codes[:5] == [404] * 5 and codes[-1] == 429
    # The budget is the address's (every request from it waits now, as after failed
    # authentications); the share itself is intact: no view was taken.
    shown = await app.services.shares.show("default", made["share"]["id"], None)
    assert shown.views_left == 1

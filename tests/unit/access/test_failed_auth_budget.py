"""The failed-authentication budget across all addresses (access/limits.py)."""

from __future__ import annotations

import pytest

from strongroom.access.limits import LimitPolicy, RateLimits
from strongroom.access.ratelimit import LocalBuckets
from strongroom.errors import RateLimited


async def test_spent_global_budget_answers_429_and_refuses_failing_addresses_only() -> None:
    limits = RateLimits(
        LocalBuckets(), LimitPolicy(unauthenticated_per_minute=3, failed_auth_per_minute=10)
    )
    for i in range(10):  # ten addresses, each well under its own budget
        await limits.before_authentication(f"203.0.113.{i}")
        await limits.authentication_failed(f"203.0.113.{i}")
    with pytest.raises(RateLimited) as failing:
        await limits.authentication_failed("203.0.113.99")
    assert failing.value.detail["budget"] == "auth_failures"
    assert failing.value.detail["retryAfter"] >= 1
    with pytest.raises(RateLimited):  # failed recently: refused before any lookup
        await limits.before_authentication("203.0.113.1")
    await limits.before_authentication("198.51.100.7")  # a clean address still passes


async def test_disabled_limits_take_nothing() -> None:
    limits = RateLimits(LocalBuckets(), LimitPolicy(failed_auth_per_minute=1), enabled=False)
    for _ in range(5):
        await limits.authentication_failed("203.0.113.1")
        await limits.before_authentication("203.0.113.1")

"""Which budgets a request draws on, and the 429 ``RATE001`` when one is empty.

Per principal: requests per minute (default 1000, overridable per role — the most
generous of the principal's roles wins — and per principal id, which wins over
roles) and items per minute, so a 1000-item batch is not one unit. Per principal
and window: the number of distinct users it may decrypt. Per client address: the
unauthenticated or failed requests, checked before a key is even looked at, so a
guessing client is cut off without costing a lookup. Across all addresses: failed
authentications, so that many addresses (a botnet, or a spoofed header) cannot
guess without bound: once that budget is spent, a failing request answers 429
instead of 401, and an address that failed recently is refused before its lookup.
Addresses with no recent failure still get through, so valid clients keep working
during a guessing storm.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from strongroom.access.models import Principal
from strongroom.access.ratelimit import Buckets, bucket_key, member_id
from strongroom.errors import RateLimited

_ALL = "*"  # the one bucket of failed authentications, whatever the address


@dataclass(frozen=True)
class LimitPolicy:
    requests_per_minute: int = 1000
    items_per_minute: int = 100_000
    unauthenticated_per_minute: int = 60
    failed_auth_per_minute: int = 600  # all addresses together
    decrypt_users_per_window: int = 1000
    decrypt_users_window_seconds: float = 3600.0
    role_requests_per_minute: dict[str, int] = field(default_factory=dict)
    principal_requests_per_minute: dict[str, int] = field(default_factory=dict)

    def requests_for(self, who: Principal) -> int:
        if who.id in self.principal_requests_per_minute:
            return self.principal_requests_per_minute[who.id]
        by_role = [
            self.role_requests_per_minute[r]
            for r in who.roles
            if r in self.role_requests_per_minute
        ]
        return max(by_role) if by_role else self.requests_per_minute


@dataclass(frozen=True)
class Quota:
    """One budget's state, for the ``RateLimit``/``RateLimit-Policy`` response headers
    (draft-ietf-httpapi-ratelimit-headers): name, quota per window, tokens left, and
    seconds until the bucket is full again."""

    name: str
    limit: int
    remaining: int
    reset: int
    window: int = 60

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{self.name}";q={self.limit};w={self.window}',
            "RateLimit": f'"{self.name}";r={self.remaining};t={self.reset}',
        }


class RateLimits:
    def __init__(self, buckets: Buckets, policy: LimitPolicy, enabled: bool = True) -> None:
        self._buckets, self.policy, self.enabled = buckets, policy, enabled

    async def close(self) -> None:
        await self._buckets.close()

    async def before_authentication(self, addr: str | None) -> None:
        """Refuse an address whose failed-request budget is spent, or that failed
        recently while the global failed-authentication budget is spent (checks,
        takes nothing)."""
        if not self.enabled:
            return
        per_addr = self.policy.unauthenticated_per_minute
        quota = await self._take("addr", addr or "unknown", per_addr, 0)
        if quota.remaining < per_addr:  # this address failed recently: the global budget too
            await self._take("auth_failures", _ALL, self.policy.failed_auth_per_minute, 0)

    async def authentication_failed(self, addr: str | None) -> None:
        """Count a failure against the address and all addresses; 429 (instead of the
        caller's 401) once the global budget is spent."""
        if not self.enabled:
            return
        rate = self.policy.unauthenticated_per_minute
        await self._buckets.take(bucket_key("addr", addr or "unknown"), rate, rate / 60, 1)
        failed = self.policy.failed_auth_per_minute
        wait, _ = await self._buckets.take(
            bucket_key("auth_failures", _ALL), failed, failed / 60, 1
        )
        if wait > 0:  # the state is not shown: it is everyone's, not this caller's
            raise RateLimited(retry_after=max(1, math.ceil(wait)), budget="auth_failures")

    async def request(self, who: Principal) -> Quota | None:
        """Take one request from the principal's budget; its state for the headers."""
        if not self.enabled:
            return None
        return await self._take("req", who.id, self.policy.requests_for(who), 1)

    async def items(self, who: Principal, count: int) -> None:
        if self.enabled and count > 0:
            await self._take("items", who.id, self.policy.items_per_minute, count)

    async def decrypt_user(self, who: Principal, tenant: str, user_id: str) -> None:
        if not self.enabled:
            return
        ok = await self._buckets.distinct(
            bucket_key("users", who.id),
            member_id(tenant, user_id),
            self.policy.decrypt_users_per_window,
            self.policy.decrypt_users_window_seconds,
        )
        if not ok:
            raise RateLimited(
                "too many distinct users decrypted", retry_after=60, budget="decrypt_users"
            )

    async def _take(self, kind: str, who: str, per_minute: int, cost: int) -> Quota:
        if cost > per_minute:  # can never fit: say so rather than "retry later"
            raise RateLimited("batch exceeds the per-minute item budget", budget=kind)
        rate = per_minute / 60
        wait, left = await self._buckets.take(bucket_key(kind, who), per_minute, rate, cost)
        reset = math.ceil((per_minute - max(left, 0.0)) / rate)
        quota = Quota(kind, per_minute, max(0, math.floor(left)), reset)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise RateLimited(
                retry_after=retry,
                budget=kind,
                headers=dataclasses.replace(quota, remaining=0).headers(),
            )
        return quota

"""A replica that loses Redis mid-run degrades as docs/deploy.md says and recovers by
itself (issue #19): two replicas share one budget through Redis; with Redis hung
(SIGSTOP: every call times out, like a partition) each stays ready, keeps answering
and counts on its own (looser, never failing); once Redis answers again (SIGCONT) and
the back-off has passed, the budget is shared again, with no restart."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from tests.api.conftest import App
from tests.api.test_rate_limits import LIMITS, make_app
from tests.services import start_or_unavailable, start_redis

pytestmark = [pytest.mark.services, pytest.mark.slow]

BUDGET = 2  # requests per minute for the one principal: 1 token back per 30 s
BACKOFF = 5.0  # access/ratelimit.RedisBuckets: Redis is left alone this long after a failure


async def statuses(apps: list[App], n: int) -> list[int]:
    return [(await apps[i % len(apps)].get("/api/v1/keys/nobody")).status_code for i in range(n)]


async def ready(app: App) -> tuple[int, bool | None]:
    r = await app.client.get("/readyz")
    return r.status_code, r.json()["checks"].get("redis")


async def test_a_replica_that_loses_redis_degrades_and_recovers_alone(tmp_path: Path) -> None:
    redis = start_or_unavailable("redis", start_redis)
    assert redis.proc is not None
    overrides = {**LIMITS, "redis_url": redis.url, "rate_limit_requests_per_minute": BUDGET}
    a, sa = await make_app(tmp_path, "a", **overrides)
    b, sb = await make_app(tmp_path, "b", **overrides)
    b.admin_key = a.admin_key  # one principal, two replicas
    stopped = False
    try:
        # Shared: BUDGET answers across both replicas, then 429 on either.
        assert await statuses([a, b], BUDGET + 2) == [404] * BUDGET + [429, 429]

        os.kill(redis.proc.pid, signal.SIGSTOP)
        stopped = True
        # Degraded: still ready (Redis is reported), still answering, each replica on
        # its own bucket of the same size.
        assert await ready(a) == (200, False)
        for app in (a, b):
            assert await statuses([app], BUDGET + 1) == [404] * BUDGET + [429]

        os.kill(redis.proc.pid, signal.SIGCONT)
        stopped = False
        await asyncio.sleep(BACKOFF + 0.5)
        # Recovered alone: the shared bucket is back (still spent), on both replicas.
        assert await ready(b) == (200, True)
        assert await statuses([a, b], 2) == [429, 429]
    finally:
        if stopped:
            os.kill(redis.proc.pid, signal.SIGCONT)
        for app, svc in ((a, sa), (b, sb)):
            await app.client.aclose()
            await svc.close()
        redis.stop()

"""Stored keys' usage through the client, sync and async, against a real service:
the counts the service holds, and USG001/USG002 as typed errors. The stored keys are
resolved through a KeyDirectory double until they are wired (tests/api)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from strongroom.credentials.contract import UseKind
from strongroom_client.errors import UsageGranularityError, UsageRangeError
from tests.api.test_api_key_usage import Directory, use
from tests.client.conftest import ThreadServer

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def counted(service: ThreadServer) -> ThreadServer:
    service.services.usage_queries.directory = Directory({("default", "billing", "stripe"): 7})

    async def uses() -> None:
        for i in range(12):
            service.services.usage.record(use(T0 + timedelta(minutes=i), status=200 + i % 2))
        service.services.usage.record(use(T0, kind=UseKind.DENIED, host="x.example", status=None))

    service.run(uses())
    return service


async def test_usage_through_the_client(sr: Any, counted: ThreadServer) -> None:
    got = await sr.api_keys.usage(
        "billing", "stripe", start=T0, end=T0 + timedelta(hours=2), granularity="hour"
    )
    assert got["total"] == 13
    assert [b["count"] for b in got["buckets"]] == [13, 0]
    assert got["byKind"] == {"broker": 12, "denied": 1}
    day = await sr.api_keys.usage(
        "billing", "stripe", start=T0, end=T0 + timedelta(days=1), granularity="day"
    )
    # Days are whole UTC days: 10:00 on the 1st to 10:00 on the 2nd touches two.
    assert (day["total"], [b["count"] for b in day["buckets"]]) == (13, [13, 0])
    with pytest.raises(UsageGranularityError):
        await sr.api_keys.usage("billing", "stripe", granularity="week")
    with pytest.raises(UsageRangeError):
        await sr.api_keys.usage("billing", "stripe", start=T0, end=T0 - timedelta(hours=1))

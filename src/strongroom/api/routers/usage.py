"""Usage of a stored API key: ``GET /api/v1/projects/{project}/api-keys/{key}/usage``
(credentials/usage_query.py, docs/usage-analytics.md). Needs ``api-keys:read`` on
the key's resource ``{project}/{key}``; the read is audited before it runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from strongroom.access.permissions import Permission
from strongroom.api.deps import api_key_header, app_services, authenticate
from strongroom.credentials.models import NAME_REGEX
from strongroom.credentials.usage_query import UsageReport

router = APIRouter(prefix="/api/v1/projects", tags=["api-keys"])
# The stored keys' own name rules (credentials/models.py NAME_REGEX).
Segment = Annotated[str, Path(pattern=NAME_REGEX, max_length=64, examples=["billing"])]
PERMISSION = Permission.API_KEYS_READ


class UsageBucketOut(BaseModel):
    start: datetime
    count: int
    byStatusClass: dict[str, int] = Field(
        description="Uses by status class: 2xx..5xx, none (no answer), denied (refused "
        "before it left)"
    )


class NamedCount(BaseModel):
    name: str
    count: int


class LastUseOut(BaseModel):
    at: datetime
    caller: str = Field(description="The principal id that used the key")
    source: str | None = Field(description="The caller's address, when known")


class SourceOut(BaseModel):
    address: str
    firstSeen: datetime
    lastSeen: datetime


class UsageOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "project": "billing",
                    "key": "stripe",
                    "from": "2026-12-03T00:00:00Z",
                    "to": "2026-12-03T02:00:00Z",
                    "granularity": "hour",
                    "total": 3,
                    "buckets": [
                        {"start": "2026-12-03T00:00:00Z", "count": 0, "byStatusClass": {}},
                        {
                            "start": "2026-12-03T01:00:00Z",
                            "count": 3,
                            "byStatusClass": {"2xx": 2, "4xx": 1},
                        },
                    ],
                    "byKind": {"broker": 3},
                    "byStatusClass": {"2xx": 2, "4xx": 1},
                    "byCaller": [{"name": "ak_7f3a", "count": 3}],
                    "byHost": [{"name": "api.stripe.com", "count": 3}],
                    "lastUsed": {
                        "at": "2026-12-03T01:42:10Z",
                        "caller": "ak_7f3a",
                        "source": "203.0.113.7",
                    },
                    "recentSources": [
                        {
                            "address": "203.0.113.7",
                            "firstSeen": "2026-11-20T08:00:00Z",
                            "lastSeen": "2026-12-03T01:42:10Z",
                        }
                    ],
                }
            ]
        },
        populate_by_name=True,
    )
    project: str
    key: str
    from_: datetime = Field(alias="from", description="Start of the first bucket (inclusive)")
    to: datetime = Field(description="End of the last bucket (exclusive)")
    granularity: str
    total: int
    buckets: list[UsageBucketOut]
    byKind: dict[str, int]
    byStatusClass: dict[str, int]
    byCaller: list[NamedCount] = Field(description="The busiest callers (at most 100)")
    byHost: list[NamedCount] = Field(description="The busiest upstream hosts (at most 100)")
    lastUsed: LastUseOut | None = Field(description="The newest use, whatever the range")
    recentSources: list[SourceOut] = Field(description="Most recently seen addresses first")

    @classmethod
    def of(cls, r: UsageReport) -> UsageOut:
        last = r.last_used
        # "from" is a keyword in Python: the field is from_, aliased.
        return cls.model_validate(
            {
                "project": r.project,
                "key": r.key,
                "from": r.start,
                "to": r.end,
                "granularity": r.granularity,
                "total": r.total,
                "buckets": [
                    UsageBucketOut(start=b.start, count=b.count, byStatusClass=b.by_status)
                    for b in r.buckets
                ],
                "byKind": r.by_kind,
                "byStatusClass": r.by_status,
                "byCaller": [NamedCount(name=n, count=c) for n, c in r.by_caller],
                "byHost": [NamedCount(name=n, count=c) for n, c in r.by_host],
                "lastUsed": LastUseOut(at=last.at, caller=last.caller, source=last.source)
                if last
                else None,
                "recentSources": [
                    SourceOut(address=s.address, firstSeen=s.first_seen, lastSeen=s.last_seen)
                    for s in r.sources
                ],
            }
        )


@router.get(
    "/{project}/api-keys/{key}/usage",
    response_model=UsageOut,
    response_model_by_alias=True,
    summary="Usage of a stored API key",
)
async def key_usage(
    request: Request,
    project: Segment,
    key: Segment,
    from_: Annotated[
        str | None,
        Query(
            alias="from",
            max_length=64,
            json_schema_extra={"format": "date-time"},
            description="ISO 8601 (UTC without an offset); "
            "default: `to` minus 24 hours (hour) or 30 days (day)",
        ),
    ] = None,
    to: Annotated[
        str | None,
        Query(
            max_length=64,
            json_schema_extra={"format": "date-time"},
            description="ISO 8601; default: now",
        ),
    ] = None,
    granularity: Annotated[
        str,
        Query(
            max_length=16,
            json_schema_extra={"enum": ["hour", "day"]},
            description="`hour` (at most 744 buckets) or `day` (366); another: USG002",
        ),
    ] = "hour",
    _doc: Annotated[str | None, Depends(api_key_header)] = None,
) -> UsageOut:
    """Uses per bucket (every bucket of the range, zeros included), by kind, status
    class, caller and upstream host; the key's last use and recent source addresses.
    400 USG001 bad range, 400 USG002 bad granularity."""
    svc = app_services(request)
    ctx = await authenticate(request, svc)
    resource = f"{project}/{key}"  # how grants name a stored key (``billing/*``)
    await svc.guard.authorize(ctx, PERMISSION, resource=resource)
    route = "/api/v1/projects/{project}/api-keys/{key}/usage"
    await svc.guard.record_read(ctx, PERMISSION, route, resource)
    report = await svc.usage_queries.usage(ctx.actor, project, key, from_, to, granularity)
    return UsageOut.of(report)

"""``strongroom access-keys ...``: create, list, show, rotate, revoke.

The commands act as the operator; ``create`` and ``rotate`` print the key (the only
line on stdout) once, the others print JSON on stdout: one object per key (``list``:
one per line), with the API's field names and formats (``AccessKeyOut`` in
api/routers/access_keys.py), so one parser reads both."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from pydantic_core import to_jsonable_python

from strongroom.access.views import AccessKeyView
from strongroom.cli.runner import OPERATOR, note, operator, run
from strongroom.config import DEFAULT_TENANT
from strongroom.services.container import Services

access_keys = typer.Typer(help="Access keys for the API.", no_args_is_help=True)


def access_key_json(v: AccessKeyView) -> dict[str, object]:
    """The API's answer for this key: its names, its time format (pydantic's)."""
    doc = {
        "id": v.id,
        "tenant": v.tenant,
        "roles": list(v.roles),
        "description": v.description,
        "state": v.state.value,
        "createdAt": v.created_at,
        "createdBy": v.created_by,
        "expiresAt": v.expires_at,
        "revokedAt": v.revoked_at,
        "rotatedAt": v.rotated_at,
        "previousKeyValidUntil": v.previous_valid_until,
        "lastUsedAt": v.last_used_at,
        "lastUsedAddr": v.last_used_addr,
    }
    return {k: to_jsonable_python(value) for k, value in doc.items()}


def _view_json(view: AccessKeyView) -> str:
    return json.dumps(access_key_json(view))


@access_keys.command("create")
def create_access_key(
    role: Annotated[list[str], typer.Option(help="Role (repeatable), e.g. admin")],
    tenant: Annotated[str, typer.Option(help="Tenant")] = DEFAULT_TENANT,
    description: Annotated[str, typer.Option(help="Free text")] = "",
    expires_in_days: Annotated[
        float | None, typer.Option(help="Expire after this many days", min=0.0001)
    ] = None,
) -> None:
    """Create an access key; prints the key (only line on stdout) once."""
    expires = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None

    async def create(svc: Services) -> str:
        view, key = await svc.access_keys.create(
            operator(tenant), OPERATOR, tenant, role, description, expires
        )
        note(f"created access key {view.id} with roles {', '.join(role)}")
        return key

    typer.echo(run(create))


@access_keys.command("list")
def list_access_keys(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (default: all)")] = None,
    limit: Annotated[int, typer.Option(help="Page size", min=1, max=500)] = 100,
    cursor: Annotated[str | None, typer.Option(help="Start after this key id")] = None,
) -> None:
    """List access keys (never their secrets), one JSON object per line."""
    views, after = run(lambda svc: svc.access_keys.list_keys(OPERATOR, tenant, limit, cursor))
    for view in views:
        typer.echo(_view_json(view))
    if after is not None:
        note(f"more: --cursor {after}")


@access_keys.command("show")
def show_access_key(key_id: Annotated[str, typer.Argument(help="Key id")]) -> None:
    """Show one access key as JSON."""
    view = run(lambda svc: svc.access_keys.show(operator(), OPERATOR, key_id))
    typer.echo(_view_json(view))


@access_keys.command("rotate")
def rotate_access_key(
    key_id: Annotated[str, typer.Argument(help="Key id")],
    grace_seconds: Annotated[
        float | None, typer.Option(help="Old key keeps working this long (default 24 h)", min=0)
    ] = None,
) -> None:
    """New secret for the key; prints the new key (only line on stdout) once."""

    async def rotate(svc: Services) -> str:
        view, key = await svc.access_keys.rotate(operator(), OPERATOR, key_id, grace_seconds)
        until = view.previous_valid_until.isoformat() if view.previous_valid_until else "now"
        note(f"rotated access key {view.id}; the previous key works until {until}")
        return key

    typer.echo(run(rotate))


@access_keys.command("revoke")
def revoke_access_key(key_id: Annotated[str, typer.Argument(help="Key id")]) -> None:
    """Revoke an access key (running servers refuse it within the key cache TTL)."""
    view = run(lambda svc: svc.access_keys.revoke(operator(), OPERATOR, key_id))
    note(f"revoked access key {view.id}")

"""``strongroom secrets ...``: put, get, list, delete, undelete, destroy, share on the
operator's host, with the API's semantics and JSON (``api/secret_schemas.py``: the
same field names, so one parser reads both).

The commands act as the operator (every path of the named tenant); values come from
``--data`` JSON or ``--field key=value`` pairs, or JSON on stdin with ``--data -`` so
they stay out of the shell history. ``get`` prints the value: the one place it is
shown. ``share`` prints the share and its token (``POST /api/v1/shares``' answer): the
token is shown once; a passphrase is read from stdin, never from an argument."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated, Any

import typer

from strongroom.access.permissions import Permission
from strongroom.access.reach import Reach
from strongroom.api.secret_schemas import SecretMetadataOut, SecretOut, SecretWriteOut
from strongroom.api.share_schemas import CreatedShareOut, ShareOut
from strongroom.cli.runner import OPERATOR, fail, note, operator, run
from strongroom.config import DEFAULT_TENANT
from strongroom.secrets.models import Label
from strongroom.secrets.service import WriteRequest
from strongroom.secrets.shares_models import NewShare
from strongroom.services.container import Services

secrets = typer.Typer(help="The secrets vault (docs/secrets.md).", no_args_is_help=True)
Tenant = Annotated[str, typer.Option(help="Tenant")]
PathArg = Annotated[str, typer.Argument(help="Secret path, e.g. apps/billing/stripe")]
VersionsOpt = Annotated[list[int] | None, typer.Option("--version", help="Version (repeatable)")]


def _data(data: str | None, fields: list[str] | None) -> dict[str, Any]:
    value: dict[str, Any] = {}
    if data is not None:
        raw = sys.stdin.read() if data == "-" else data
        try:
            parsed = json.loads(raw)
        except ValueError:
            fail("error: --data is not JSON")
        if not isinstance(parsed, dict):
            fail("error: --data must be a JSON object")
        value.update(parsed)
    for f in fields or []:
        key, sep, val = f.partition("=")
        if not sep or not key:
            fail("error: --field takes key=value")
        value[key] = val
    if not value:
        fail("error: give --data or --field")
    return value


@secrets.command("put")
def put(
    path: PathArg,
    data: Annotated[str | None, typer.Option(help="JSON object, or - for stdin")] = None,
    field: Annotated[list[str] | None, typer.Option(help="key=value (repeatable)")] = None,
    cas: Annotated[int | None, typer.Option(help="Check-and-set version (0: create)")] = None,
    patch: Annotated[bool, typer.Option(help="Merge-patch the newest version")] = False,
    expires_at: Annotated[datetime | None, typer.Option(help="ISO 8601 expiry")] = None,
    pending: Annotated[bool, typer.Option(help="Stage as pending (rotation)")] = False,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Write a new version; prints its metadata as JSON."""
    value = _data(data, field)
    label = Label.PENDING if pending else Label.CURRENT
    req = WriteRequest(value, cas, patch=patch, expires_at=expires_at, label=label)
    done = run(lambda svc: svc.secrets.write(operator(tenant), path, req))
    typer.echo(SecretWriteOut.of(done).model_dump_json())


@secrets.command("get")
def get(
    path: PathArg,
    version: Annotated[int | None, typer.Option(help="Version (default: current)")] = None,
    metadata: Annotated[bool, typer.Option(help="Metadata and versions, not the value")] = False,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Print a version (value included) or, with --metadata, the secret's metadata."""
    if metadata:
        meta = run(lambda svc: svc.secret_lifecycle.metadata(operator(tenant), path, record=True))
        typer.echo(SecretMetadataOut.of(meta).model_dump_json())
        return
    got = run(lambda svc: svc.secrets.read(operator(tenant), path, version))
    typer.echo(SecretOut.of(got).model_dump_json())


@secrets.command("list")
def list_secrets(
    prefix: Annotated[str, typer.Option(help="Only paths starting with this")] = "",
    meta: Annotated[list[str] | None, typer.Option(help="key=value filter (repeatable)")] = None,
    limit: Annotated[int, typer.Option(help="Page size", min=1, max=1000)] = 100,
    cursor: Annotated[str | None, typer.Option(help="From a previous page")] = None,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Paths, one per line (the operator sees every path of the tenant)."""
    pairs = [(k, v) for k, _, v in (m.partition("=") for m in meta or [])]

    async def listing(svc: Services) -> tuple[tuple[str, ...], str | None]:
        reach = Reach(OPERATOR, tenant, (Permission.SECRETS_LIST, Permission.SECRETS_READ))
        page = await svc.secret_listing.list(
            operator(tenant), reach, reach.prefixes, prefix, pairs, cursor, limit
        )
        return page.paths, page.cursor

    paths, after = run(listing)
    for p in paths:
        typer.echo(p)
    if after is not None:
        note(f"more: --cursor {after}")


def _versions(versions: list[int] | None, needed: bool) -> list[int] | None:
    if needed and not versions:
        fail("error: give --version (repeatable)")
    return versions or None


def _changed(path: str, hit: list[int]) -> None:
    typer.echo(json.dumps({"path": path, "versions": hit}))


@secrets.command("delete")
def delete(
    path: PathArg,
    version: VersionsOpt = None,
    all_versions: Annotated[
        bool, typer.Option("--all", help="Delete the secret: every version and metadata")
    ] = False,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Soft-delete versions (default: the current one); --all deletes everything."""
    if all_versions:
        run(lambda svc: svc.secret_lifecycle.purge(operator(tenant), path))
        note(f"deleted {path} with every version")
        return
    wanted = _versions(version, needed=False)
    hit = run(lambda svc: svc.secret_lifecycle.delete(operator(tenant), path, wanted))
    _changed(path, hit)


@secrets.command("undelete")
def undelete(path: PathArg, version: VersionsOpt = None, tenant: Tenant = DEFAULT_TENANT) -> None:
    """Restore soft-deleted versions."""
    wanted = _versions(version, needed=True) or []
    _changed(path, run(lambda svc: svc.secret_lifecycle.undelete(operator(tenant), path, wanted)))


@secrets.command("destroy")
def destroy(path: PathArg, version: VersionsOpt = None, tenant: Tenant = DEFAULT_TENANT) -> None:
    """Remove versions' values from the database for good."""
    wanted = _versions(version, needed=True) or []
    _changed(path, run(lambda svc: svc.secret_lifecycle.destroy(operator(tenant), path, wanted)))


@secrets.command("share")
def share(
    path: PathArg,
    expires_in: Annotated[int, typer.Option(help="Seconds until the share ends", min=60)],
    version: Annotated[int | None, typer.Option(help="Version (default: current)")] = None,
    views: Annotated[int, typer.Option(help="Reveals before it ends", min=1)] = 1,
    passphrase_stdin: Annotated[
        bool, typer.Option(help="Read a passphrase (first line) from stdin")
    ] = False,
    tenant_only: Annotated[bool, typer.Option(help="Only principals of this tenant")] = False,
    principal: Annotated[
        list[str] | None, typer.Option(help="Only this principal (repeatable)")
    ] = None,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Share one version by link: prints the share and its token (shown only here)."""
    passphrase = sys.stdin.readline().rstrip("\r\n") if passphrase_stdin else None
    if passphrase_stdin and not passphrase:
        fail("error: --passphrase-stdin read an empty line")

    async def create(svc: Services) -> CreatedShareOut:
        actor = operator(tenant)
        wanted = version
        if wanted is None:  # the current version, as a read without --version
            wanted = (await svc.secret_lifecycle.metadata(actor, path)).current_version
        new = NewShare(
            expires_in_seconds=expires_in,
            views=views,
            source=(path, wanted),
            passphrase=passphrase,
            tenant_only=tenant_only,
            principals=tuple(principal or ()),
        )
        # The operator may read every path of the tenant (the API checks secrets:read).
        view, token = await svc.shares.create(actor, new, source_authorized=True)
        return CreatedShareOut(share=ShareOut.of(view), token=token)

    typer.echo(run(create).model_dump_json())

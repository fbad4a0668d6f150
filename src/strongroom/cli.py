"""Command line: serve, migrate, access-keys, keys."""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import json
import os
import resource
import shutil
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

import typer

from strongroom.access.lifecycle import SYSTEM
from strongroom.access.views import AccessKeyView
from strongroom.cli_audit import audit
from strongroom.cli_kms import kms
from strongroom.config import DEFAULT_TENANT, Settings
from strongroom.context import Actor
from strongroom.errors import StrongroomError
from strongroom.kms.local import MasterKeyFileError, create_master_key_file
from strongroom.logging import configure_logging
from strongroom.services.container import Services, build_services

T = TypeVar("T")
app = typer.Typer(help="Strongroom: per-user encryption and key management.", no_args_is_help=True)
access_keys = typer.Typer(help="Access keys for the API.", no_args_is_help=True)
keys = typer.Typer(help="Per-user key maintenance.", no_args_is_help=True)
app.add_typer(access_keys, name="access-keys")
app.add_typer(keys, name="keys")
app.add_typer(kms, name="kms")
app.add_typer(audit, name="audit")


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def _ensure_master_key(settings: Settings) -> None:
    if settings.kms.backend == "local" and create_master_key_file(settings.master_key_file):
        _err(f"created master key file {settings.master_key_file} (mode 0600); back it up")


def _with_services(settings: Settings, fn: Callable[[Services], Awaitable[T]]) -> T:
    """Run ``fn`` against migrated, started services, then close them."""

    async def main() -> T:
        svc = build_services(settings)
        try:
            await svc.start(migrate=True)
            return await fn(svc)
        finally:
            await svc.close()

    _ensure_master_key(settings)
    try:
        return asyncio.run(main())
    except (MasterKeyFileError, StrongroomError) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2) from None


def _settings() -> Settings:
    settings = Settings()
    configure_logging(settings.log_level)
    return settings


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""

    async def noop(_: Services) -> None:
        return None

    _with_services(_settings(), noop)
    _err("database is up to date")


async def _bootstrap(svc: Services) -> str | None:
    if await svc.access.count():
        return None
    _, key = await svc.access.create(DEFAULT_TENANT, ["admin"], "bootstrap admin")
    return key


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes")] = None,
) -> None:
    """Run the API (migrates, and on first start prints a bootstrap admin key once)."""
    import uvicorn

    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"STRONGROOM_{name}"] = str(value)
    settings = _settings()
    # Unwrapped keys live in this process's memory: never write them to a core file.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    key = _with_services(settings, _bootstrap)
    if key is not None:
        typer.echo("Bootstrap admin access key (shown once, store it now):")
        typer.echo(key)
        sys.stdout.flush()
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics there, so a scrape of any worker sums them all.
        metrics_dir = tempfile.mkdtemp(prefix="strongroom-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        atexit.register(shutil.rmtree, metrics_dir, ignore_errors=True)
    from strongroom.api.tls_server import tls_enabled, uvicorn_options

    try:  # empty unless TLS or client certificates are configured
        tls = uvicorn_options(settings)
    except StrongroomError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2) from None
    scheme = "https" if tls_enabled(settings) else "http"
    _err(f"listening on {scheme}://{settings.host}:{settings.port} (OpenAPI UI at /docs)")
    uvicorn.run(
        "strongroom.api.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="warning",
        access_log=False,
        **tls,
    )


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
        view, key = await svc.access.admin.create(
            _cli_actor(tenant), SYSTEM, tenant, role, description, expires
        )
        _err(f"created access key {view.id} with roles {', '.join(role)}")
        return key

    typer.echo(_with_services(_settings(), create))


# The other access-key commands act as the operator (the CLI holds the database) and
# print JSON on stdout: one object per key (list: one per line).
def _cli_actor(tenant: str = DEFAULT_TENANT) -> Actor:
    return Actor("system:cli", tenant, f"cli-{uuid.uuid4().hex[:16]}", None)


def _view_json(view: AccessKeyView) -> str:
    def plain(v: object) -> object:
        return v.isoformat() if isinstance(v, datetime) else v

    return json.dumps({k: plain(v) for k, v in dataclasses.asdict(view).items()})


@access_keys.command("list")
def list_access_keys(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (default: all)")] = None,
    limit: Annotated[int, typer.Option(help="Page size", min=1, max=500)] = 100,
    cursor: Annotated[str | None, typer.Option(help="Start after this key id")] = None,
) -> None:
    """List access keys (never their secrets), one JSON object per line."""
    views, after = _with_services(
        _settings(), lambda svc: svc.access.admin.list_keys(SYSTEM, tenant, limit, cursor)
    )
    for view in views:
        typer.echo(_view_json(view))
    if after is not None:
        _err(f"more: --cursor {after}")


@access_keys.command("show")
def show_access_key(key_id: Annotated[str, typer.Argument(help="Key id")]) -> None:
    """Show one access key as JSON."""
    view = _with_services(
        _settings(), lambda svc: svc.access.admin.show(_cli_actor(), SYSTEM, key_id)
    )
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
        view, key = await svc.access.admin.rotate(_cli_actor(), SYSTEM, key_id, grace_seconds)
        until = view.previous_valid_until.isoformat() if view.previous_valid_until else "now"
        _err(f"rotated access key {view.id}; the previous key works until {until}")
        return key

    typer.echo(_with_services(_settings(), rotate))


@access_keys.command("revoke")
def revoke_access_key(key_id: Annotated[str, typer.Argument(help="Key id")]) -> None:
    """Revoke an access key (running servers refuse it within the key cache TTL)."""
    view = _with_services(
        _settings(), lambda svc: svc.access.admin.revoke(_cli_actor(), SYSTEM, key_id)
    )
    _err(f"revoked access key {view.id}")


@keys.command("rotate-due")
def rotate_due() -> None:
    """Rotate every key past its rotation period (one pass)."""
    n = _with_services(_settings(), lambda svc: svc.lifecycle.rotate_due())
    _err(f"rotated {n} key(s)")


@keys.command("destroy-due")
def destroy_due() -> None:
    """Destroy every key whose deletion waiting period has ended (one pass)."""
    n = _with_services(_settings(), lambda svc: svc.lifecycle.destroy_due())
    _err(f"destroyed {n} key(s)")


def main() -> None:
    app()

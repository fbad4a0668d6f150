"""Command line: serve, migrate, access-keys, keys."""

from __future__ import annotations

import asyncio
import atexit
import os
import resource
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from strongroom.cli_kms import kms
from strongroom.config import DEFAULT_TENANT, Settings
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


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def _ensure_master_key(settings: Settings) -> None:
    if settings.kms == "local" and create_master_key_file(settings.master_key_file):
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
    _err(f"listening on http://{settings.host}:{settings.port} (OpenAPI UI at /docs)")
    uvicorn.run(
        "strongroom.api.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="warning",
        access_log=False,
    )


@access_keys.command("create")
def create_access_key(
    role: Annotated[list[str], typer.Option(help="Role (repeatable), e.g. admin")],
    tenant: Annotated[str, typer.Option(help="Tenant")] = DEFAULT_TENANT,
    description: Annotated[str, typer.Option(help="Free text")] = "",
) -> None:
    """Create an access key; prints the key (only line on stdout) once."""

    async def create(svc: Services) -> str:
        key_id, key = await svc.access.create(tenant, role, description)
        _err(f"created access key {key_id} with roles {', '.join(role)}")
        return key

    typer.echo(_with_services(_settings(), create))


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

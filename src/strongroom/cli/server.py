"""``strongroom migrate`` and ``strongroom serve``."""

from __future__ import annotations

import atexit
import os
import resource
import shutil
import socket
import sys
import tempfile
from typing import Annotated

import typer

from strongroom.cli.runner import fail, load_settings, note, one_line_errors, operator, run
from strongroom.config import DEFAULT_TENANT
from strongroom.services import database_admin
from strongroom.services.container import Services


def migrate(
    app_role: Annotated[
        str | None,
        typer.Option(help="PostgreSQL: also grant this serving role exactly what it needs"),
    ] = None,
) -> None:
    """Create or upgrade the database schema (PostgreSQL: as the schema owner)."""

    async def grant(svc: Services) -> list[str]:
        if app_role is None:
            return []
        return await database_admin.grant_app(svc.db, app_role)

    unknown = run(grant)  # opening the services migrates
    note("database is up to date")
    if app_role is not None:
        note(f"granted {app_role} exactly what serving needs")
    if unknown:
        note(f"no privileges on unknown tables: {', '.join(unknown)}")


async def _bootstrap(svc: Services) -> str | None:
    async with svc.exclusive_start():  # replicas starting together: one key, not one each
        if await svc.access.count():
            return None
        _, key = await svc.access.create(
            DEFAULT_TENANT, ["admin"], "bootstrap admin", actor=operator(DEFAULT_TENANT)
        )
        return key


def _bindable(host: str, port: int) -> None:
    """Fail in one line, before migrating or printing "listening", when the address is
    taken or unusable (uvicorn would log the failure after our banner). A probe: a
    server that binds in between still fails, in uvicorn's words."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # As uvicorn binds: a previous server's TIME_WAIT connections do not count.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        fail(f"error: cannot listen on {host}:{port} (STRONGROOM_HOST/STRONGROOM_PORT): {reason}")


def serve(
    host: Annotated[str | None, typer.Option(help="Listen address")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes")] = None,
) -> None:
    """Run the API (migrates, and on first start prints a bootstrap admin key once)."""
    import uvicorn

    # Through the environment, so the workers' own settings see the same values.
    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"STRONGROOM_{name}"] = str(value)
    settings = load_settings()
    _bindable(settings.server.host, settings.server.port)
    # Unwrapped keys live in this process's memory: never write them to a core file.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    key = run(_bootstrap, settings=settings)
    if key is not None:
        typer.echo("Bootstrap admin access key (shown once, store it now):")
        typer.echo(key)
        sys.stdout.flush()
    if settings.server.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics there, so a scrape of any worker sums them all.
        metrics_dir = tempfile.mkdtemp(prefix="strongroom-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        atexit.register(shutil.rmtree, metrics_dir, ignore_errors=True)
    from strongroom.api.tls_server import tls_enabled, uvicorn_options

    with one_line_errors():  # trusted proxies; TLS and client certificates if configured
        tls = uvicorn_options(settings)
    scheme = "https" if tls_enabled(settings) else "http"
    where = f"{scheme}://{settings.server.host}:{settings.server.port}"
    note(f"listening on {where} (OpenAPI UI at /docs)")
    uvicorn.run(
        "strongroom.api.app:app_from_env",
        factory=True,
        host=settings.server.host,
        port=settings.server.port,
        workers=settings.server.workers,
        log_level="warning",
        access_log=False,
        **tls,
    )

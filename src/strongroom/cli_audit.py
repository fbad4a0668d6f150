"""``strongroom audit ...``: verify the tamper-evident trail, export the checkpoint key."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from strongroom.audit.checkpoints import public_from_pem
from strongroom.audit.verify import VerifyReport
from strongroom.config import Settings
from strongroom.errors import StrongroomError
from strongroom.kms.interfaces import KmsError
from strongroom.kms.local import MasterKeyFileError
from strongroom.logging import configure_logging
from strongroom.services.container import Services, build_services

T = TypeVar("T")
audit = typer.Typer(help="Tamper-evident audit trail.", no_args_is_help=True)


def _run(fn: Callable[[Services], Awaitable[T]]) -> T:
    """Read-only use of the services: no segment is opened, nothing is migrated."""

    async def main() -> T:
        settings = Settings()
        configure_logging(settings.log_level)
        svc = build_services(settings)
        try:
            return await fn(svc)
        finally:
            await svc.close()

    try:
        return asyncio.run(main())
    except (StrongroomError, KmsError, MasterKeyFileError, OSError) as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(2) from None


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    ts = datetime.fromisoformat(value)
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def render(report: VerifyReport) -> list[str]:
    lines = [
        f"checked {report.records} records in {report.segments} segments and "
        f"{report.checkpoints} checkpoints in {report.seconds:.2f}s"
    ]
    if report.unchained:
        lines.append(f"{report.unchained} unchained records from before the chain (not checked)")
    bad = report.first_bad
    if bad is not None:
        where = f"record id {bad.record_id}" if bad.record_id is not None else "trail"
        seg = f" (segment {bad.segment} seq {bad.seq})" if bad.segment else ""
        lines.append(f"FIRST BAD: {where}{seg}: {bad.kind}: {bad.message}")
        for f in report.findings[1:]:
            lines.append(f"  also: {f.kind} record id {f.record_id}: {f.message}")
    for cut in report.truncated:
        lines.append(f"TRUNCATED? segment {cut.segment}: {cut.message}")
    lines.append("OK: trail intact" if report.ok else "FAILED")
    return lines


@audit.command("verify")
def verify(
    start: Annotated[str | None, typer.Option("--from", help="ISO time (UTC if no offset)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="ISO time (UTC if no offset)")] = None,
    public_key: Annotated[
        Path | None, typer.Option(help="Pinned checkpoint key (PEM) instead of the service's")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report")] = False,
) -> None:
    """Check the whole trail (or a time range); exit 1 naming the first bad record."""
    pinned = public_from_pem(public_key.read_bytes()) if public_key else None
    report = _run(lambda svc: svc.audit_queries.verify(_when(start), _when(end), public=pinned))
    if as_json:
        out = {**dataclasses.asdict(report), "first_bad": report.first_bad}
        typer.echo(json.dumps(out, default=lambda o: dataclasses.asdict(o), indent=2))
    else:
        for line in render(report):
            typer.echo(line)
    raise typer.Exit(0 if report.ok else 1)


@audit.command("public-key")
def public_key() -> None:
    """Print the checkpoint signing public key (PEM) so anyone can check checkpoints."""
    kid, pem = _run(lambda svc: svc.audit_queries.public_key())
    typer.echo(f"key id {kid}", err=True)
    typer.echo(pem, nl=False)

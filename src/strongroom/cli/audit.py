"""``strongroom audit ...``: verify the tamper-evident trail, export the checkpoint key,
export ranges as JSON Lines and check them offline, archive old ranges."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from strongroom.audit.archive import Archived, archive
from strongroom.audit.checkpoints import public_from_pem
from strongroom.audit.export import Written, select_range, write
from strongroom.audit.findings import VerifyReport
from strongroom.audit.offline import verify_lines
from strongroom.cli.progress import progress
from strongroom.cli.runner import Opening, fail, one_line_errors, run
from strongroom.services.container import Services

audit = typer.Typer(help="Tamper-evident audit trail.", no_args_is_help=True)


def _when(value: str | None, option: str) -> datetime | None:
    """An option's ISO time, parsed before anything opens: a mistake is one line."""
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        fail(f"error: {option}: {value!r} is not an ISO time (e.g. 2026-12-01T09:30:00+00:00)")
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _pinned(path: Path | None) -> Ed25519PublicKey | None:
    return public_from_pem(path.read_bytes()) if path else None


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
    for u in report.unconfirmed:
        where = f"segment {u.segment}" if u.segment else "checkpoints"
        lines.append(f"UNCONFIRMED {where}: {u.message}")
    if report.anchors is not None:
        newest = report.last_anchored
        held = f"up to checkpoint {newest}" if newest is not None else "no checkpoint"
        lines.append(f"anchor log {report.anchors}: {held}")
    lines.append(
        {
            "ok": "OK: trail intact",
            "unconfirmed": "UNCONFIRMED: nothing wrong found, but the end of the trail is "
            "not proven (a cut of the newest records and checkpoints would look the same)",
            "failed": "FAILED",
        }[report.status]
    )
    return lines


# Exit statuses of `audit verify` (docs/audit-format.md, Verification).
EXIT = {"ok": 0, "failed": 1, "unconfirmed": 3}  # 2: could not verify (one-line error)


@audit.command("verify")
def verify(
    start: Annotated[str | None, typer.Option("--from", help="ISO time (UTC if no offset)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="ISO time (UTC if no offset)")] = None,
    public_key: Annotated[
        Path | None, typer.Option(help="Pinned checkpoint key (PEM) instead of the service's")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report")] = False,
    anchors: Annotated[
        Path | None,
        typer.Option(help="Anchor log (JSON Lines) instead of AUDIT_ANCHOR_FILE"),
    ] = None,
) -> None:
    """Check the whole trail (or a time range) against the anchor log, if any. Exit 0
    intact, 1 naming the first bad record, 3 intact so far but its live end unproven."""
    since, until = _when(start, "--from"), _when(end, "--to")
    with one_line_errors(name_type=True):
        pinned = _pinned(public_key)
    if anchors is not None and not anchors.is_file():
        fail(f"error: --anchors: {anchors} is not a file")

    async def go(svc: Services) -> VerifyReport:
        with progress("audit verify") as shown:
            q = svc.audit_queries
            return await q.verify(since, until, public=pinned, anchors=anchors, progress=shown)

    report = run(go, opening=Opening.READ, name_type=True)
    if as_json:  # the API's field names (GET /api/v1/audit/verify), all findings
        out = {**dataclasses.asdict(report), "first_bad": report.first_bad}
        out.pop("anchors")  # the operator named that file; the API never shows a path
        typer.echo(json.dumps(out, default=lambda o: dataclasses.asdict(o), indent=2))
    else:
        for line in render(report):
            typer.echo(line)
    raise typer.Exit(EXIT[report.status])


@audit.command("public-key")
def public_key() -> None:
    """Print the checkpoint signing public key (PEM) so anyone can check checkpoints."""
    kid, pem = run(lambda svc: svc.audit_queries.public_key(), opening=Opening.READ, name_type=True)
    typer.echo(f"key id {kid}", err=True)
    typer.echo(pem, nl=False)


@audit.command("export")
def export_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="New .jsonl file")],
    start: Annotated[str | None, typer.Option("--from", help="ISO time (UTC if no offset)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="ISO time (UTC if no offset)")] = None,
) -> None:
    """Write the records from --from to --to, the checkpoints covering them and the segment
    info a verifier needs (docs/audit-format.md "Export"); check it with verify-export."""

    since, until = _when(start, "--from"), _when(end, "--to")

    async def go(svc: Services) -> Written:
        kid, _ = await svc.audit_queries.public_key()
        sel = await select_range(svc.db, since, until)
        with progress("audit export") as shown:
            return await write(
                svc.db,
                output,
                sel,
                kind="export",
                key_id=kid,
                start=since,
                end=until,
                progress=shown,
            )

    w = run(go, opening=Opening.READ, name_type=True)
    typer.echo(f"wrote {w.records} records and {w.checkpoints} checkpoints to {w.path}")


@audit.command("verify-export")
def verify_export(
    file: Annotated[Path, typer.Argument(help="An export or archive file")],
    public_key: Annotated[
        Path, typer.Option(help="The checkpoint public key (PEM), obtained independently")
    ],
) -> None:
    """Check an export offline: no database, no KMS. Hash links and checkpoint
    signatures only (MACs need the KMS: use `audit verify` on the database)."""
    with one_line_errors(name_type=True), file.open(encoding="ascii") as f:
        pinned = public_from_pem(public_key.read_bytes())
        with progress("audit verify-export") as shown:
            r = verify_lines(f, pinned, shown)
    typer.echo(
        f"checked {r.records} records in {r.segments} segments and {r.checkpoints} "
        f"checkpoints: {r.covered} bound to a signature, {r.uncovered} after the last "
        f"attested head (not covered), {r.unchained} unchained"
    )
    for p in r.findings:
        typer.echo(f"BAD: {p.describe()}")
    typer.echo("OK: export intact (MACs not checked offline)" if r.ok else "FAILED")
    raise typer.Exit(0 if r.ok else 1)


@audit.command("archive")
def archive_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the file")],
    before: Annotated[
        str | None,
        typer.Option(help="ISO time; default: now minus audit_retention_days"),
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option(help="Pinned checkpoint key (PEM) instead of the service's")
    ] = None,
) -> None:
    """Move records older than the retention to a verifiable file, then delete them
    (admin only: on PostgreSQL the login must be in strongroom_audit_archiver)."""

    cutoff = _when(before, "--before")

    async def go(svc: Services) -> Archived:
        when = cutoff or datetime.now(UTC) - timedelta(days=svc.settings.audit.retention_days)
        kid, _ = await svc.audit_queries.public_key()
        signer = await svc.audit_queries.signer()
        public = _pinned(public_key) or signer.public
        q = svc.audit_queries
        with progress("audit archive") as shown:
            return await archive(svc.db, svc.audit, q, public, kid, when, output, shown)

    a = run(go, opening=Opening.SEGMENT, name_type=True)
    if a.path is None:
        typer.echo("nothing to archive (no checkpoint before that time)")
        return
    typer.echo(
        f"archived {a.records} records up to checkpoint {a.checkpoint} to {a.path} "
        f"(sha256 {a.sha256})"
    )

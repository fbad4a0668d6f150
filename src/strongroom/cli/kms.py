"""``strongroom kms ...``: recovery shares of the local master key; rewrap and status."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from strongroom.cli.progress import progress
from strongroom.cli.runner import fail, load_settings, note, one_line_errors, operator, run
from strongroom.kms.recovery import export_shares, import_shares
from strongroom.services.container import Services
from strongroom.services.kms_rewrap import KmsRewrap, RewrapReport
from strongroom.services.root_key import root_key_status

kms = typer.Typer(
    help="Root key custody: recovery shares, rewrap under a new root key or backend.",
    no_args_is_help=True,
)


def _passphrase(path: Path | None) -> bytes:
    # From a file, never the command line (argv is visible to every local user).
    return path.read_bytes().strip() if path else b""


@kms.command("export-recovery")
def export_recovery(
    threshold: Annotated[int, typer.Option(help="Shares needed to rebuild (M)")],
    shares: Annotated[int, typer.Option(help="Shares to make (N)")],
    passphrase_file: Annotated[Path | None, typer.Option(help="Optional passphrase")] = None,
) -> None:
    """Print N recovery shares of the local master key, one per line (stdout only)."""
    settings = load_settings()
    with one_line_errors():
        lines, kcv = export_shares(
            settings.kms.master_key_file, threshold, shares, _passphrase(passphrase_file)
        )
    for line in lines:
        typer.echo(line)
    note(
        f"{shares} shares, any {threshold} rebuild the key; key check value {kcv}. "
        "Give each share to a different custodian; store none of them beside the key."
    )


@kms.command("import-recovery")
def import_recovery(
    output: Annotated[Path, typer.Option(help="New master key file to write (mode 0600)")],
    passphrase_file: Annotated[Path | None, typer.Option(help="Passphrase used at export")] = None,
) -> None:
    """Rebuild the master key from shares read on stdin, one per line."""
    # Reads no settings: --output names the file, and a restore must not depend on the
    # configuration of the machine it runs on.
    with one_line_errors():
        kcv = import_shares(sys.stdin.read().splitlines(), output, _passphrase(passphrase_file))
    note(f"wrote {output} (mode 0600); key check value {kcv}")


@kms.command("status")
def status() -> None:
    """Print the configured root key and how many wrapped keys each root key holds
    (JSON); with a missing or wrong master key file, say which key the data needs."""
    settings = load_settings()
    with one_line_errors():
        found = asyncio.run(root_key_status(settings))
    doc = {"target": found.target, "byKeyRef": found.by_key_ref, "needs": sorted(found.by_key_ref)}
    typer.echo(json.dumps(doc, indent=2))
    if found.problem:
        fail(f"error: {found.problem}")


@kms.command("rewrap")
def rewrap(
    batch_size: Annotated[int, typer.Option(min=1, max=10000, help="Rows per commit")] = 200,
) -> None:
    """Re-wrap every stored key under the configured KMS's newest root key.

    To move backends, configure the new one as STRONGROOM_KMS and the old one in
    STRONGROOM_KMS_PREVIOUS (e.g. '["local"]'); rerun after an interruption.
    Client ciphertexts are not touched and stay decryptable throughout. Progress on
    stderr; the report (JSON) on stdout.
    """

    async def rewrap_all(svc: Services) -> RewrapReport:
        with progress("kms rewrap", "wrapped keys") as shown:
            return await KmsRewrap(svc.db, svc.kms, svc.audit, batch_size).run(operator(), shown)

    report = run(rewrap_all)
    typer.echo(
        json.dumps(
            {
                "target": report.target,
                "moved": report.moved,
                "changedMeanwhile": report.changed_meanwhile,
                "refused": report.refused,
                "byKeyRef": report.remaining,
            },
            indent=2,
        )
    )
    if not report.complete:
        note("error: some wrapped keys were not moved; see 'refused'")
        raise typer.Exit(1)

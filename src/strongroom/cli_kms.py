"""``strongroom kms ...``: recovery shares of the local master key."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from strongroom.config import Settings
from strongroom.kms.local import MasterKeyFileError
from strongroom.kms.recovery import RecoveryError, export_shares, import_shares

kms = typer.Typer(help="Root key custody: recovery shares.", no_args_is_help=True)


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
    settings = Settings()
    try:
        lines, kcv = export_shares(
            settings.master_key_file, threshold, shares, _passphrase(passphrase_file)
        )
    except (RecoveryError, MasterKeyFileError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for line in lines:
        typer.echo(line)
    typer.echo(
        f"{shares} shares, any {threshold} rebuild the key; key check value {kcv}. "
        "Give each share to a different custodian; store none of them beside the key.",
        err=True,
    )


@kms.command("import-recovery")
def import_recovery(
    output: Annotated[Path, typer.Option(help="New master key file to write (mode 0600)")],
    passphrase_file: Annotated[Path | None, typer.Option(help="Passphrase used at export")] = None,
) -> None:
    """Rebuild the master key from shares read on stdin, one per line."""
    try:
        kcv = import_shares(sys.stdin.read().splitlines(), output, _passphrase(passphrase_file))
    except (RecoveryError, MasterKeyFileError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {output} (mode 0600); key check value {kcv}", err=True)

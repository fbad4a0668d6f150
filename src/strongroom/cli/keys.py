"""``strongroom keys ...``: one pass of the scheduled per-user key maintenance, and the
key-statement signing key for clients to pin."""

from __future__ import annotations

import typer

from strongroom.cli.runner import note, run
from strongroom.keys.statement import ServiceKeyInfo
from strongroom.services.container import Services

keys = typer.Typer(help="Per-user key maintenance.", no_args_is_help=True)


@keys.command("rotate-due")
def rotate_due() -> None:
    """Rotate every key past its rotation period (one pass)."""
    n = run(lambda svc: svc.lifecycle.rotate_due())
    note(f"rotated {n} key(s)")


@keys.command("destroy-due")
def destroy_due() -> None:
    """Destroy every key whose deletion waiting period has ended (one pass)."""
    n = run(lambda svc: svc.lifecycle.destroy_due())
    note(f"destroyed {n} key(s)")


@keys.command("statement-key")
def statement_key() -> None:
    """Print the key that signs key statements (PEM), read from the database and the
    KMS, not over the network: what clients pin (STRONGROOM_SERVICE_KEY)."""

    async def read(svc: Services) -> ServiceKeyInfo:
        return await svc.statements.service_key()

    info = run(read)
    note(f"key id {info.key_id}")
    typer.echo(info.pem, nl=False)

"""The ``strongroom`` command line: one module per command group, all run through
``cli/runner.py`` (settings, logging, services, one-line errors)."""

from __future__ import annotations

from typing import Annotated

import typer

from strongroom import __version__
from strongroom.cli.access_keys import access_keys
from strongroom.cli.api_keys import api_keys
from strongroom.cli.audit import audit
from strongroom.cli.client import client
from strongroom.cli.client_vault import secrets as client_secrets
from strongroom.cli.client_vault import share as client_share
from strongroom.cli.db import db
from strongroom.cli.keys import keys
from strongroom.cli.kms import kms
from strongroom.cli.mcp import mcp_requests, mcp_tools
from strongroom.cli.mcp_policy import mcp_policy
from strongroom.cli.mcp_server import mcp
from strongroom.cli.secrets import secrets
from strongroom.cli.server import migrate, serve

# A bug's traceback never shows local variables: they may hold keys or plaintext.
app = typer.Typer(
    help="Strongroom: per-user encryption and key management.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"strongroom {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version"),
    ] = False,
) -> None:
    # Options of the program itself, before any command (no settings are read).
    return None


app.add_typer(access_keys, name="access-keys")
app.add_typer(keys, name="keys")
app.add_typer(kms, name="kms")
app.add_typer(audit, name="audit")
app.add_typer(db, name="db")
app.add_typer(secrets, name="secrets")
app.add_typer(api_keys, name="api-keys")
client.add_typer(client_secrets, name="secrets")
client.add_typer(client_share, name="share")
app.add_typer(client, name="client")
app.add_typer(mcp_tools, name="mcp-tools")
app.add_typer(mcp_requests, name="mcp-requests")
app.add_typer(mcp_policy, name="mcp-policy")
app.command()(migrate)
app.command()(serve)
app.command()(mcp)


def main() -> None:
    app()


__all__ = ["app", "main"]

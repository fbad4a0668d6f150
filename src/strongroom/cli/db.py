"""``strongroom db grant-app ROLE``: the serving role's PostgreSQL privileges."""

from __future__ import annotations

from typing import Annotated

import typer

from strongroom.cli.runner import Opening, note, run
from strongroom.services import database_admin

db = typer.Typer(help="Database administration (PostgreSQL).", no_args_is_help=True)


def report_grants(role: str, unknown: list[str]) -> None:
    note(f"granted {role} exactly what serving needs")
    if unknown:
        note(f"no privileges on unknown tables: {', '.join(unknown)}")


@db.command("grant-app")
def grant_app(
    role: Annotated[str, typer.Argument(help="The login role the service connects as")],
) -> None:
    """Give ROLE exactly what serving needs (run as the schema owner; again after
    upgrades happen by `strongroom migrate`, which re-grants by itself)."""
    unknown = run(lambda svc: database_admin.grant_app(svc.db, role), opening=Opening.READ)
    report_grants(role, unknown)

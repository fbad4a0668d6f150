"""``strongroom keys ...``: one pass of the scheduled per-user key maintenance."""

from __future__ import annotations

import typer

from strongroom.cli.runner import note, run

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

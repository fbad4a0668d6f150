"""How every command runs: settings built at the edge, logging configured, the services
opened as far as the command needs, its coroutine run, the services closed, and every
expected failure turned into one line on stderr with exit code 2.

Command modules import this one and nothing else of the CLI, so cli/ has no cycles.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import NoReturn, TypeVar

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from strongroom.access.guard import operator as operator_context
from strongroom.access.lifecycle import SYSTEM
from strongroom.access.models import Principal
from strongroom.config import DEFAULT_TENANT, Settings, describe_error_line, unknown_variables
from strongroom.context import Actor
from strongroom.errors import StrongroomError
from strongroom.kms.local import MasterKeyFileError
from strongroom.kms.recovery import RecoveryError
from strongroom.logging import configure_logging
from strongroom.services.container import Services, build_services
from strongroom.services.root_key import DatabaseUnreachable, prepare_root_key

T = TypeVar("T")

# The CLI acts with the operator's authority: whoever runs it holds the database.
OPERATOR: Principal = SYSTEM
EXPECTED = (StrongroomError, MasterKeyFileError, RecoveryError, DatabaseUnreachable, OSError)


def operator(tenant: str = DEFAULT_TENANT) -> Actor:
    """The actor the audit trail records for a command (a fresh request id each): the
    guard's operator context (access/guard.py), in system scope."""
    return operator_context(tenant).actor


class Opening(Enum):
    """How far a command starts the services."""

    # Create a missing local master key file (for a database that needs none), migrate
    # the schema, open this process's audit segment and load the pepper: what `serve`
    # does before it listens.
    FULL = "full"
    # Open an audit segment (the command records what it does), never migrate.
    SEGMENT = "segment"
    # Start nothing: read only, and leave no segment behind.
    READ = "read"


def note(message: str) -> None:
    """A line for the operator: stderr, because stdout carries only the result."""
    typer.echo(message, err=True)


def print_page(lines: Iterable[str], after: object | None) -> None:
    """One page of a listing: a JSON object per line on stdout, and the cursor of the
    next page (if any) on stderr, so that stdout stays machine-readable."""
    for line in lines:
        typer.echo(line)
    if after is not None:
        typer.echo(f"next cursor: {after}", err=True)


def fail(message: str) -> NoReturn:
    note(message)
    raise typer.Exit(2)


@contextmanager
def one_line_errors(*, name_type: bool = False) -> Iterator[None]:
    """Expected failures become ``error: ...`` (``name_type``: ``error: Type: ...``, the
    audit commands' format) and exit 2; anything else is a bug and keeps its traceback."""
    try:
        yield
    except EXPECTED as exc:
        fail(f"error: {type(exc).__name__}: {exc}" if name_type else f"error: {exc}")


def describe_settings_error(exc: ValidationError | SettingsError) -> str:
    """Every problem on one line, each naming its environment variable (config/errors.py),
    never its value: a database URL or webhook secret may be among them."""
    return describe_error_line(exc).removeprefix("error: invalid settings: ")


def load_settings() -> Settings:
    """Settings from the environment, with logging configured from them; a warning line
    for each ``STRONGROOM_`` variable that names no setting (a misspelt one)."""
    try:
        settings = Settings()
    except (ValidationError, SettingsError) as exc:
        fail(describe_error_line(exc))
    for line in unknown_variables(os.environ):
        note(line)
    configure_logging(settings.logging.level)
    return settings


def run(
    work: Callable[[Services], Awaitable[T]],
    *,
    opening: Opening = Opening.FULL,
    settings: Settings | None = None,
    name_type: bool = False,
) -> T:
    """``work`` against services opened as ``opening`` says; closed whatever happens."""
    if settings is None:
        settings = load_settings()
    with one_line_errors(name_type=name_type):
        return asyncio.run(_open(settings, work, opening))


async def _open(
    settings: Settings, work: Callable[[Services], Awaitable[T]], opening: Opening
) -> T:
    operator_context()  # a command is system work: every tenant, chosen explicitly
    # A new master key only for a database that needs none (services/root_key.py).
    if await prepare_root_key(settings, create=opening is Opening.FULL):
        note(f"created master key file {settings.kms.master_key_file} (mode 0600); back it up")
    svc = build_services(settings)
    try:
        if opening is Opening.FULL:
            await svc.start(migrate=True)
        elif opening is Opening.SEGMENT:
            await svc.audit.start()
        return await work(svc)
    finally:
        await svc.close()

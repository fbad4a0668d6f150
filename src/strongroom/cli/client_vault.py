"""``strongroom client secrets ...`` and ``strongroom client share ...``: the vault and
one-time shares of a running server through the Python SDK, scripted like
``vault kv get -field=password``. Connection as for every client command
(cli/client.py). Values are read from stdin when they are not given (so they stay out
of the shell history and ``ps``) and printed only where asked for: ``secrets get``,
``share redeem``, and the share's token, shown once, by ``share create``."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, NoReturn

import typer

from strongroom.cli.client import _json, _run

secrets = typer.Typer(help="The vault (docs/secrets.md) through the SDK.", no_args_is_help=True)
share = typer.Typer(help="One-time shares (docs/sharing.md) through the SDK.", no_args_is_help=True)
PathArg = Annotated[str, typer.Argument(help="Secret path, e.g. apps/billing/stripe")]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _data(data: str | None, fields: list[str] | None) -> dict[str, Any]:
    """``--data`` JSON (``-``: stdin) merged with ``--field key=value`` pairs; with
    neither, a JSON object on stdin."""
    value: dict[str, Any] = {}
    raw = sys.stdin.read() if data == "-" or (data is None and not fields) else data
    if raw is not None:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            _fail("the data must be a JSON object")
        value.update(parsed)
    for f in fields or []:
        key, sep, val = f.partition("=")
        if not sep or not key:
            _fail("--field takes key=value")
        value[key] = val
    if not value:
        _fail("give --data or --field")
    return value


@secrets.command("get")
def get(
    ctx: typer.Context,
    path: PathArg,
    version: Annotated[int | None, typer.Option(help="Version (default: current)")] = None,
    field: Annotated[str | None, typer.Option(help="Print only this field's value")] = None,
) -> None:
    """A version with its value (the API's JSON), or one field's value alone."""
    got = _run(ctx, lambda c: c.secrets.get(path, version))
    if field is None:
        _json(got)
        return
    data = got.get("data") or {}
    if field not in data:
        _fail(f"no field {field!r} in this version")
    value = data[field]
    typer.echo(value if isinstance(value, str) else json.dumps(value))


@secrets.command("put")
def put(
    ctx: typer.Context,
    path: PathArg,
    data: Annotated[str | None, typer.Option(help="JSON object, or - for stdin")] = None,
    field: Annotated[list[str] | None, typer.Option(help="key=value (repeatable)")] = None,
    cas: Annotated[int | None, typer.Option(help="Check-and-set version (0: create)")] = None,
    patch: Annotated[bool, typer.Option(help="Merge-patch the current version")] = False,
) -> None:
    """Write a new version; prints its metadata (JSON, no value)."""
    value = _data(data, field)
    if patch:
        _json(_run(ctx, lambda c: c.secrets.patch(path, value, cas=cas)))
    else:
        _json(_run(ctx, lambda c: c.secrets.put(path, value, cas=cas)))


@secrets.command("list")
def list_paths(
    ctx: typer.Context,
    prefix: Annotated[str, typer.Option(help="Only paths starting with this")] = "",
) -> None:
    """Every path the caller may read, one per line."""
    for p in _run(ctx, lambda c: list(c.secrets.iter_paths(prefix))):
        typer.echo(p)


@secrets.command("delete")
def delete(
    ctx: typer.Context,
    path: PathArg,
    version: Annotated[
        list[int] | None, typer.Option("--version", help="Version (repeatable)")
    ] = None,
) -> None:
    """Soft-delete the current version, or the given ones (the API's JSON)."""
    _json(_run(ctx, lambda c: c.secrets.delete(path, version or None)))


@share.command("create")
def create(
    ctx: typer.Context,
    value: Annotated[str | None, typer.Argument(help="Value; none: stdin")] = None,
    secret: Annotated[str | None, typer.Option(help="Share a vault secret's version")] = None,
    version: Annotated[int | None, typer.Option(help="The secret's version")] = None,
    expires_in: Annotated[int, typer.Option(help="Seconds until it expires")] = 3600,
    views: Annotated[int, typer.Option(help="How many times it may be revealed")] = 1,
    passphrase: Annotated[str | None, typer.Option(help="Required to reveal it")] = None,
) -> None:
    """A share of a value (or of ``--secret PATH --version N``): the API's JSON with
    the token, which is shown only here."""
    if secret is not None:
        if version is None:
            _fail("--secret needs --version")
        source: tuple[str, int] | None = (secret, version)
        text = None
    else:
        source, text = None, value if value is not None else sys.stdin.read().rstrip("\n")
    _json(
        _run(
            ctx,
            lambda c: c.shares.create(
                expires_in, text, source=source, views=views, passphrase=passphrase
            ),
        )
    )


@share.command("redeem")
def redeem(
    ctx: typer.Context,
    token: Annotated[str | None, typer.Argument(help="Token; none: stdin")] = None,
    passphrase: Annotated[str | None, typer.Option(help="If the share has one")] = None,
) -> None:
    """Reveal a shared value (takes one view); prints the value alone."""
    given = token if token is not None else sys.stdin.readline().strip()
    answer = _run(ctx, lambda c: c.shares.redeem(given, passphrase))
    typer.echo(str.__str__(answer["value"]))


@share.command("revoke")
def revoke(ctx: typer.Context, share_id: str) -> None:
    """End a share now (the API's JSON)."""
    _json(_run(ctx, lambda c: c.shares.revoke(share_id)))

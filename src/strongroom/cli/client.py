"""``strongroom client ...``: talk to a running server through the Python SDK
(clients/python, package ``strongroom-client``), like ``vault kv get``.

Connection: ``--addr`` / ``STRONGROOM_ADDR``, ``--api-key`` / ``STRONGROOM_API_KEY``,
``STRONGROOM_TOKEN``, ``STRONGROOM_CLIENT_CERT`` + ``STRONGROOM_CLIENT_KEY``,
``STRONGROOM_CA_CERT``, ``--tenant`` / ``STRONGROOM_TENANT``, ``--service-key`` /
``STRONGROOM_SERVICE_KEY`` (the SDK reads them). Values come from the arguments or,
when there are none, one per line on stdin (keeps them out of shell history and
``ps``); results go to stdout one per line, or as JSON for metadata. A failure is one
line on stderr (the service's code and message, never a value) and exit code 2.

The SDK is imported only when a client command runs: the server does not need it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    from strongroom_client import Client

T = TypeVar("T")
INSTALL = (
    "error: `strongroom client` needs the client SDK: "
    "pip install strongroom-client (from a checkout: pip install -e clients/python)"
)

client = typer.Typer(help="Call a running server through the Python SDK.", no_args_is_help=True)
Values = Annotated[list[str] | None, typer.Argument(help="Values; none: one per line on stdin")]
ContextOpt = Annotated[str | None, typer.Option(help="Context bound to the ciphertexts")]


def _sdk() -> ModuleType:
    try:
        import strongroom_client
    except ImportError:
        typer.echo(INSTALL, err=True)
        raise typer.Exit(2) from None
    return strongroom_client


@client.callback()
def _connection(
    ctx: typer.Context,
    addr: Annotated[str | None, typer.Option(help="Server URL (STRONGROOM_ADDR)")] = None,
    api_key: Annotated[
        str | None, typer.Option(help="Access key (better: STRONGROOM_API_KEY)")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="X-Tenant-Id (STRONGROOM_TENANT)")] = None,
    service_key: Annotated[
        str | None, typer.Option(help="Pinned statement key (STRONGROOM_SERVICE_KEY)")
    ] = None,
) -> None:
    ctx.obj = {"addr": addr, "api_key": api_key, "tenant": tenant, "service_key": service_key}


@contextmanager
def _client(ctx: typer.Context) -> Iterator[Client]:
    sdk = _sdk()
    try:
        with sdk.Client(**ctx.obj) as c:
            yield c
    except sdk.StrongroomError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _values(given: list[str] | None) -> list[str]:
    if given:
        return given
    return [line.rstrip("\n") for line in sys.stdin]


def _lines(items: list[Any]) -> None:
    for item in items:
        typer.echo(str(item))


def _json(doc: Any) -> None:
    typer.echo(json.dumps(doc))


def _run(ctx: typer.Context, call: Callable[[Client], T]) -> T:
    with _client(ctx) as c:
        return call(c)


@client.command("encrypt")
def encrypt(
    ctx: typer.Context, user_id: str, values: Values = None, context: ContextOpt = None
) -> None:
    """Encrypt on the server; one ciphertext per line."""
    _lines(_run(ctx, lambda c: c.encrypt(user_id, _values(values), context)))


@client.command("encrypt-offline")
def encrypt_offline(
    ctx: typer.Context, user_id: str, values: Values = None, context: ContextOpt = None
) -> None:
    """Encrypt here with the user's verified public key (needs the pinned service key)."""
    _lines(_run(ctx, lambda c: c.encrypt_offline(user_id, _values(values), context)))


@client.command("decrypt")
def decrypt(
    ctx: typer.Context, user_id: str, values: Values = None, context: ContextOpt = None
) -> None:
    """Decrypt ciphertexts; one plaintext per line."""
    _lines(_run(ctx, lambda c: [p.reveal() for p in c.decrypt(user_id, _values(values), context)]))


@client.command("rewrap")
def rewrap(
    ctx: typer.Context, user_id: str, values: Values = None, context: ContextOpt = None
) -> None:
    """Re-encrypt ciphertexts under the current key version; one per line."""
    _lines(_run(ctx, lambda c: c.rewrap(user_id, _values(values), context).items))


@client.command("rotate")
def rotate(
    ctx: typer.Context,
    user_id: str,
    values: Values = None,
    reason: Annotated[str, typer.Option(help="on-demand, compliance or compromise")] = "on-demand",
    context: ContextOpt = None,
) -> None:
    """Rotate the user's key and re-encrypt the given ciphertexts; one per line."""
    given = values if values else ([] if sys.stdin.isatty() else _values(None))
    _lines(_run(ctx, lambda c: c.rotate(user_id, given, reason, context).data))


@client.command("blind-index")
def blind_index(
    ctx: typer.Context,
    field: str,
    values: Values = None,
    user_id: Annotated[str | None, typer.Option(help="Per-user index (default: tenant)")] = None,
    normalize: Annotated[
        list[str] | None, typer.Option(help="case, whitespace or digits (repeatable)")
    ] = None,
    length: Annotated[int, typer.Option(help="Token bytes, 4 to 32", min=4, max=32)] = 32,
) -> None:
    """Blind index tokens for equality search; one per line."""
    _lines(
        _run(
            ctx,
            lambda c: c.blind_index.tokens(
                field, _values(values), user_id, normalize or (), length
            ),
        )
    )


keys = typer.Typer(help="Per-user keys.", no_args_is_help=True)
client.add_typer(keys, name="keys")


@keys.command("create")
def create_key(
    ctx: typer.Context,
    user_id: str,
    key_type: Annotated[str | None, typer.Option(help="Key type (default: server's)")] = None,
) -> None:
    """Create a user's key; prints its metadata (JSON)."""
    _json(_run(ctx, lambda c: c.keys.create(user_id, key_type)))


@keys.command("show")
def show_key(ctx: typer.Context, user_id: str) -> None:
    """A user's key metadata (JSON)."""
    _json(_run(ctx, lambda c: c.keys.get(user_id)))


@keys.command("history")
def key_history(ctx: typer.Context, user_id: str) -> None:
    """A user's key history, one JSON object per line."""
    _lines([json.dumps(h) for h in _run(ctx, lambda c: c.keys.history(user_id))])


@keys.command("public")
def public_key(ctx: typer.Context, user_id: str) -> None:
    """The public key answer with its signed statement (JSON, unverified)."""
    _json(_run(ctx, lambda c: c.keys.public_key(user_id)))


@client.command("service-key")
def service_key(ctx: typer.Context) -> None:
    """The key that signs key statements (PEM), to pin as STRONGROOM_SERVICE_KEY.
    Run it over a connection you trust."""
    typer.echo(_run(ctx, lambda c: c.keys.service_keys()["keyStatement"]["pem"]), nl=False)


@client.command("health")
def health(ctx: typer.Context) -> None:
    """Readiness of the server (JSON); exit 1 when not ready."""
    answer = _run(ctx, lambda c: c.health.ready())
    _json(answer)
    if answer.get("status") != "ready":
        raise typer.Exit(1)

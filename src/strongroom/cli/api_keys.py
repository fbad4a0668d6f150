"""``strongroom api-keys ...``: projects and stored third-party API keys on the
operator's host (docs/credentials.md), printing the API's JSON (``api/api_key_schemas.py``).

A value is read from stdin (its first line), never from an argument, so it stays out
of the shell history and the process list; no command prints one."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from strongroom.access.permissions import Permission
from strongroom.access.reach import Reach
from strongroom.api.api_key_schemas import ApiKeyOut, ProjectOut
from strongroom.cli.runner import OPERATOR, fail, operator, run
from strongroom.config import DEFAULT_TENANT
from strongroom.credentials.contract import Injection, InjectionKind
from strongroom.credentials.models import NewKey

api_keys = typer.Typer(help="Stored API keys (docs/credentials.md).", no_args_is_help=True)
Tenant = Annotated[str, typer.Option(help="Tenant")]
ProjectArg = Annotated[str, typer.Argument(help="Project, e.g. billing")]
NameArg = Annotated[str, typer.Argument(help="Key name, e.g. stripe")]


def _value() -> str:
    line = sys.stdin.readline().strip()
    if not line:
        fail("error: give the value on stdin")
    return line


@api_keys.command("project-create")
def project_create(
    name: ProjectArg,
    description: Annotated[str, typer.Option(help="What it holds")] = "",
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Create a project; prints it as JSON."""
    done = run(lambda svc: svc.projects.create(operator(tenant), name, description))
    typer.echo(ProjectOut.of(done).model_dump_json())


@api_keys.command("create")
def create(
    project: ProjectArg,
    name: NameArg,
    host: Annotated[list[str] | None, typer.Option(help="Allowed host (repeatable)")] = None,
    provider: Annotated[str, typer.Option(help="Provider label")] = "",
    header: Annotated[str, typer.Option(help="Header the key goes in")] = "Authorization",
    template: Annotated[str, typer.Option(help="Header value, {key} once")] = "Bearer {key}",
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Store a key whose value is the first line of stdin; prints its settings."""
    new = NewKey(
        name,
        _value(),
        provider,
        hosts=host or [],
        injection=Injection(InjectionKind.HEADER, header, template),
    )
    done = run(lambda svc: svc.api_keys.create(operator(tenant), project, new))
    typer.echo(ApiKeyOut.of(done).model_dump_json())


@api_keys.command("list")
def list_keys(project: ProjectArg, tenant: Tenant = DEFAULT_TENANT) -> None:
    """The project's keys, one JSON document per line (never a value)."""
    reach = Reach(OPERATOR, tenant, (Permission.API_KEYS_READ,))
    page = run(lambda svc: svc.api_keys.list(operator(tenant), project, reach, None, 1000))
    for k in page.items:
        typer.echo(ApiKeyOut.of(k).model_dump_json())


@api_keys.command("rotate")
def rotate(
    project: ProjectArg,
    name: NameArg,
    hook: Annotated[bool, typer.Option(help="Mint the value with the key's hook")] = False,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Rotate to the value on stdin (or ``--hook``); the previous one stays known."""
    value = None if hook else _value()
    done = run(
        lambda svc: svc.api_key_rotation.rotate(operator(tenant), project, name, value, hook=hook)
    )
    typer.echo(ApiKeyOut.of(done).model_dump_json())


@api_keys.command("revoke")
def revoke(
    project: ProjectArg,
    name: NameArg,
    reason: Annotated[str | None, typer.Option(help="Why")] = None,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Revoke for good (both values leave the database)."""
    done = run(lambda svc: svc.api_keys.revoke(operator(tenant), project, name, reason))
    typer.echo(ApiKeyOut.of(done).model_dump_json())


@api_keys.command("block")
def block(
    project: ProjectArg,
    name: NameArg,
    reason: Annotated[str | None, typer.Option(help="Why")] = None,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Block (reversible with ``unblock``)."""
    done = run(lambda svc: svc.api_keys.block(operator(tenant), project, name, reason))
    typer.echo(ApiKeyOut.of(done).model_dump_json())


@api_keys.command("unblock")
def unblock(project: ProjectArg, name: NameArg, tenant: Tenant = DEFAULT_TENANT) -> None:
    done = run(lambda svc: svc.api_keys.unblock(operator(tenant), project, name))
    typer.echo(ApiKeyOut.of(done).model_dump_json())

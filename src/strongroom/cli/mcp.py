"""``strongroom mcp-tools ...`` and ``strongroom mcp-requests ...``: the MCP tool
registry and human decisions on access requests, on the operator's host, printing the
API's JSON (``api/approval_schemas.py``). The operator decides as ``system:cli``; the
service still refuses a decision that does not cover the request's digest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from strongroom.api.approval_schemas import RequestOut, ToolOut
from strongroom.approvals.digest import of_ask, schema_sha256
from strongroom.approvals.models import NewTool, ToolTier
from strongroom.cli.runner import fail, operator, print_page, run
from strongroom.config import DEFAULT_TENANT
from strongroom.services.container import Services

mcp_tools = typer.Typer(
    help="MCP tools that may ask for access (docs/approvals.md).", no_args_is_help=True
)
mcp_requests = typer.Typer(help="MCP access requests: list, approve, deny.", no_args_is_help=True)
Tenant = Annotated[str, typer.Option(help="Tenant")]
ToolId = Annotated[int, typer.Argument(help="Tool id")]
RequestId = Annotated[str, typer.Argument(help="Access request id")]


def _schema(schema_file: Path | None, sha: str | None) -> str:
    if (schema_file is None) == (sha is None):
        fail("error: give --schema-file or --schema-sha256")
    if sha is not None:
        return sha
    assert schema_file is not None
    try:
        parsed = json.loads(schema_file.read_text())
    except (OSError, ValueError):
        fail("error: --schema-file is not a readable JSON file")
    if not isinstance(parsed, dict):
        fail("error: the input schema must be a JSON object")
    return schema_sha256(parsed)


@mcp_tools.command("register")
def register(
    name: Annotated[str, typer.Argument(help="Tool name")],
    client_id: Annotated[str, typer.Option("--client-id", help="The MCP client's id")],
    host: Annotated[list[str], typer.Option("--host", help="Host it may reach (repeatable)")],
    method: Annotated[list[str], typer.Option("--method", help="HTTP method (repeatable)")],
    schema_file: Annotated[Path | None, typer.Option(help="Its input schema (JSON)")] = None,
    schema_sha256: Annotated[
        str | None, typer.Option("--schema-sha256", help="Or its hash")
    ] = None,
    tier: Annotated[ToolTier, typer.Option(help="Admin-set tier")] = ToolTier.STANDARD,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Register a tool (pending until approved); prints it as JSON."""
    new = NewTool(
        name, client_id, _schema(schema_file, schema_sha256), tuple(host), tuple(method), tier
    )
    done = run(lambda svc: svc.approvals.tools.register(operator(tenant), new))
    typer.echo(ToolOut.of(done).model_dump_json())


@mcp_tools.command("list")
def list_tools(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    cursor: Annotated[int | None, typer.Option(help="From a previous page")] = None,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """The tenant's tools, one JSON object per line."""
    tools, after = run(lambda svc: svc.approvals.tools.list(tenant, limit, cursor))
    print_page((ToolOut.of(t).model_dump_json() for t in tools), after)


@mcp_tools.command("approve")
def approve(
    tool_id: ToolId,
    schema_sha256: Annotated[
        str | None, typer.Option("--schema-sha256", help="Pin this schema")
    ] = None,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Approve (or re-approve after a schema change, pinning --schema-sha256)."""
    done = run(lambda svc: svc.approvals.tools.approve(operator(tenant), tool_id, schema_sha256))
    typer.echo(ToolOut.of(done).model_dump_json())


@mcp_tools.command("suspend")
def suspend(tool_id: ToolId, tenant: Tenant = DEFAULT_TENANT) -> None:
    done = run(lambda svc: svc.approvals.tools.suspend(operator(tenant), tool_id))
    typer.echo(ToolOut.of(done).model_dump_json())


@mcp_requests.command("list")
def list_requests(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    cursor: Annotated[str | None, typer.Option(help="From a previous page")] = None,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Pending requests with their score breakdown, one JSON object per line."""
    views, after = run(lambda svc: svc.approvals.requests.list_pending(tenant, limit, cursor))
    print_page((RequestOut.of(v).model_dump_json() for v in views), after)


def _decide(tenant: str, request_id: str, approve: bool, reason: str, digest: str | None) -> None:
    async def work(svc: Services) -> RequestOut:
        actor = operator(tenant)
        wanted = digest
        if wanted is None:  # what the operator was shown: the request as it stands
            wanted = of_ask((await svc.approvals.requests.get(actor, request_id)).ask)
        return RequestOut.of(
            await svc.approvals.requests.decide(actor, request_id, approve, reason, wanted)
        )

    typer.echo(run(work).model_dump_json())


@mcp_requests.command("approve")
def approve_request(
    request_id: RequestId,
    reason: Annotated[str, typer.Option(help="Why (recorded as a keyed hash)")] = "",
    digest: Annotated[
        str | None, typer.Option(help="The digest listed (default: the request's)")
    ] = None,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Approve exactly what the request asks; prints the request."""
    _decide(tenant, request_id, True, reason, digest)


@mcp_requests.command("deny")
def deny_request(
    request_id: RequestId,
    reason: Annotated[str, typer.Option(help="Why (required)")],
    digest: Annotated[
        str | None, typer.Option(help="The digest listed (default: the request's)")
    ] = None,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    _decide(tenant, request_id, False, reason, digest)

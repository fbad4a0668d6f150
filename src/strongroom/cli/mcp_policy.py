"""``strongroom mcp-policy show|set|versions``: the tenant's MCP approvals policy on the
operator's host, printing the API's JSON (``api/policy_schemas.py``). ``set`` changes
the options given and keeps the rest; the operator writes as ``system:cli``."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from strongroom.api.policy_schemas import PolicyOut
from strongroom.approvals.models import PolicyVersion
from strongroom.approvals.policy import FIELDS
from strongroom.cli.runner import fail, operator, print_page, run
from strongroom.config import DEFAULT_TENANT
from strongroom.errors import InvalidInput
from strongroom.services.container import Services

mcp_policy = typer.Typer(
    help="The tenant's MCP approvals policy (docs/approvals.md#policy).", no_args_is_help=True
)
Tenant = Annotated[str, typer.Option(help="Tenant")]
Seconds = Annotated[int | None, typer.Option(help="Seconds")]
Hour = Annotated[int | None, typer.Option(help="UTC hour")]


def option(field: str) -> str:
    """The option of a policy field: ``durationCapSeconds`` -> ``--duration-cap-seconds``."""
    return "--" + re.sub(r"(?<!^)([A-Z])", r"-\1", field).lower()


def _in_options(exc: InvalidInput) -> str:
    """The domain's message with the options' names, so a mistake names what was typed."""
    text = re.sub("|".join(sorted(FIELDS, key=len, reverse=True)), lambda m: option(m[0]), exc.text)
    low, high = exc.detail.get("minimum"), exc.detail.get("maximum")
    return f"error: {text}" + (f" ({low} to {high})" if low is not None else "")


@mcp_policy.command("show")
def show(tenant: Tenant = DEFAULT_TENANT) -> None:
    """The policy new requests are scored under (version 0: the configured default)."""
    view = run(lambda svc: svc.approvals.policies.show(tenant))
    typer.echo(PolicyOut.of(view).model_dump_json())


@mcp_policy.command("set")
def set_policy(
    threshold: Annotated[
        int | None, typer.Option(help="Below this score (0-101) a request may auto-approve")
    ] = None,
    duration_cap_seconds: Seconds = None,
    second_approver: Annotated[
        bool | None, typer.Option("--second-approver/--no-second-approver")
    ] = None,
    pending_expiry_seconds: Seconds = None,
    session_max_seconds: Seconds = None,
    business_start_hour: Hour = None,
    business_end_hour: Hour = None,
    new_tool_seconds: Seconds = None,
    expected_version: Annotated[
        int | None, typer.Option(help="Only if this is still the current version")
    ] = None,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Store the next version: the options given, the current values for the rest."""
    given = {
        "threshold": threshold,
        "durationCapSeconds": duration_cap_seconds,
        "secondApprover": second_approver,
        "pendingExpirySeconds": pending_expiry_seconds,
        "sessionMaxSeconds": session_max_seconds,
        "businessStartHour": business_start_hour,
        "businessEndHour": business_end_hour,
        "newToolSeconds": new_tool_seconds,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        fail("error: give at least one option to change (see --help)")

    async def work(svc: Services) -> PolicyVersion:
        try:
            return await svc.approvals.policies.change(operator(tenant), changes, expected_version)
        except InvalidInput as exc:
            fail(_in_options(exc))

    typer.echo(PolicyOut.of(run(work)).model_dump_json())


@mcp_policy.command("versions")
def versions(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    cursor: Annotated[int | None, typer.Option(help="From a previous page")] = None,
    tenant: Tenant = DEFAULT_TENANT,
) -> None:
    """Stored versions, newest first, one JSON object per line."""
    views, after = run(lambda svc: svc.approvals.policies.versions(tenant, limit, cursor))
    print_page((PolicyOut.of(v).model_dump_json() for v in views), after)

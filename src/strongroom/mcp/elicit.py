"""Sending the user to the approvals page by URL-mode elicitation, where the client can
take it: a server-to-client request, which exists only on a 2025-11-25 (session)
connection whose client declared URL mode. Everywhere else, and whatever the user
answers, the tool's result carries the same URL: the elicitation is a convenience,
never the only way to the page. Form mode is never used (nothing is asked of the
user through the client or the model)."""

from __future__ import annotations

import logging

import anyio
from mcp.server.mcpserver import Context

from strongroom.approvals.contract import RequestView

log = logging.getLogger(__name__)
MODERN = "2026-07-28"
WAIT_SECONDS = 30.0  # the user's consent to open the URL, not the approval itself


def supports_url(ctx: Context) -> bool:
    version = ctx.protocol_version
    if version is None or version >= MODERN:
        return False
    caps = ctx.client_capabilities
    return caps is not None and caps.elicitation is not None and caps.elicitation.url is not None


async def approval(ctx: Context, view: RequestView) -> bool:
    """Whether the client was asked to open ``view.approval_url``."""
    if view.approval_url is None or not supports_url(ctx):
        return False
    message = (
        f"Access request {view.request_id} (risk score {view.score}) waits for a human "
        "approver: open the approvals page to review it."
    )
    try:
        with anyio.move_on_after(WAIT_SECONDS):
            await ctx.elicit_url(message, view.approval_url, view.request_id)
            return True
    except Exception as exc:  # the URL is in the result anyway
        log.info("mcp url elicitation not delivered: %s", type(exc).__name__)
    return False

"""The request context: who acts, in which tenant, for which request.

Every transport (HTTP, MCP, CLI) turns what a caller presents into an ``Actor``
through the access guard (access/guard.py); services and audit records take it
from there. Kept apart from any domain so that all of them may import it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who acted: principal id, the tenant the request acts in, request id and
    client address."""

    principal: str
    tenant: str
    request_id: str
    client_addr: str | None

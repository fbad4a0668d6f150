"""Canonical forms hashed by the approvals domain.

- A tool's input schema is pinned as the SHA-256 of its canonical JSON (keys sorted,
  no whitespace, UTF-8): the same schema always gives the same hash, whatever the
  client's key order or spacing.
- An approval covers the digest of exactly what was asked (tool, key, hosts, methods,
  duration): an approval replayed onto a request for other hosts, other methods or a
  longer duration names another digest and is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from strongroom.approvals.contract import AccessAsk

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def schema_sha256(schema: dict[str, Any]) -> str:
    """The hex SHA-256 of a tool's canonical input schema (what MCP clients present)."""
    return hashlib.sha256(canonical_json(schema)).hexdigest()


def ask_digest(
    tool: str,
    client_id: str,
    project: str,
    key: str,
    hosts: tuple[str, ...],
    methods: tuple[str, ...],
    duration_seconds: int,
) -> str:
    """What an approval covers; ``hosts`` and ``methods`` are already normalised."""
    body = {
        "v": 1,
        "tool": [tool, client_id],
        "key": [project, key],
        "hosts": sorted(hosts),
        "methods": sorted(methods),
        "duration": duration_seconds,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


def of_ask(ask: AccessAsk) -> str:
    """The digest of a (normalised, recorded) ask: what an approver approves."""
    t = ask.tool
    return ask_digest(
        t.name, t.client_id, ask.project, ask.key, ask.hosts, ask.methods, ask.duration_seconds
    )

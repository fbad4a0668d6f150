"""The catalogues are the only spelling of their vocabularies, and their values are
frozen: audit actions (audit/actions.py), permissions (access/permissions.py), key
types (crypto/suites.py). tests/api/test_catalogues.py checks the running app."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

from strongroom.access.permissions import Permission
from strongroom.api.schemas import KeyTypeName
from strongroom.audit.actions import (
    SECURITY_PREFIX,
    AuditAction,
    SecurityAction,
    SecurityRule,
    catalogue,
)
from strongroom.config.sections import KeysSettings
from strongroom.crypto.suites import KEY_TYPES, KeyType

SRC = Path(__file__).parents[2] / "src" / "strongroom"
CATALOGUES = {"audit/actions.py", "access/permissions.py", "crypto/suites.py"}
# Rewritten on the lead's branch at the same time (issue #13, the guard); they switch
# to the catalogues when it merges, and leave this set empty.

# The published record format (docs/audit-format.md): clients filter on these and
# auditors read them. A value may be added, never changed or removed.
ACTIONS = {
    *("key.create", "key.encrypt", "key.decrypt", "key.rewrap", "key.rotate", "key.policy"),
    *("key.delete.schedule", "key.delete.cancel", "key.destroy"),
    "key.blind_index",
    *("access_key.create", "access_key.rotate", "access_key.revoke"),
    *("role.create", "role.update", "role.delete", "role.write", "token.revoke"),
    *("auth.api_key", "auth.bearer", "auth.mtls", "auth.policy", "authz.denied"),
    *("api.read", "api.rejected", "kms.rewrap", "job.run"),
    *("share.create", "share.redeem", "share.revoke", "share.end", "share.purge"),
    *("audit.open", "audit.heartbeat", "audit.close", "audit.void", "audit.archive"),
    *("security.auth.failures", "security.auth.revoked_credential"),
    "security.auth.failures_global",
    *("security.auth.new_address", "security.decrypt.bulk", "security.key.deletion"),
    *("security.rate.limited", "security.users.bulk", "security.secret.expiring"),
    *("secret.write", "secret.read", "secret.list", "secret.metadata", "secret.delete"),
    *("secret.undelete", "secret.destroy", "secret.purge", "secret.promote"),
    *("certificate.import", "certificate.export", "certificate.revoke", "certificate.issue"),
    *("certificate.ca.create", "certificate.role.write"),
    *("security.certificate.expiring", "security.certificate.expired"),
    *("security.certificate.chain_expires_first", "security.certificate.key_reused"),
    *("project.create", "project.delete", "api_key.create", "api_key.update"),
    *("api_key.rotate", "api_key.revoke", "api_key.block", "api_key.unblock"),
    *("api_key.reveal", "api_key.delete"),
    *("security.api_key.expiring", "security.api_key.rotation_due"),
    *("security.usage.rate", "security.usage.new_caller", "security.usage.new_source"),
    *("security.usage.off_hours", "security.usage.upstream_auth", "security.usage.errors"),
    "security.usage.denied_host",
    "broker.request",
    *("mcp.tool.register", "mcp.tool.approve", "mcp.tool.suspend", "mcp.policy.write"),
    *("mcp.request.create", "mcp.request.score", "mcp.request.approve", "mcp.request.deny"),
    *("mcp.request.expire", "mcp.session.open", "mcp.token.use", "mcp.session.revoke"),
    "security.mcp.tool_schema_changed",
    *("mcp.approvals.login", "mcp.approvals.logout"),
}
PERMISSIONS = {
    *("keys:create", "keys:read", "keys:read-public", "keys:encrypt", "keys:decrypt"),
    "keys:blind-index",
    *("keys:rotate", "keys:delete", "keys:admin"),
    *("shares:create", "shares:read", "shares:revoke"),
    *("access-keys:create", "access-keys:read", "access-keys:rotate", "access-keys:revoke"),
    *("roles:read", "roles:write", "tokens:revoke", "audit:read", "metrics:read"),
    *("secrets:read", "secrets:write", "secrets:list", "secrets:delete", "secrets:destroy"),
    "secrets:admin",
    *("certificates:read", "certificates:import", "certificates:export"),
    *("certificates:issue", "certificates:revoke", "certificates:admin"),
    *("projects:read", "projects:write", "api-keys:read", "api-keys:write"),
    *("api-keys:use", "api-keys:reveal"),
    *("mcp-tools:register", "mcp-tools:read", "mcp-tools:approve", "mcp-tools:suspend"),
    *("mcp-requests:create", "mcp-requests:read", "mcp-requests:approve"),
    *("mcp-sessions:revoke", "mcp-policy:read", "mcp-policy:write"),
}


def test_catalogue_values_are_frozen() -> None:
    assert catalogue() == ACTIONS
    assert {p.value for p in Permission} == PERMISSIONS


def test_no_value_is_in_two_enums() -> None:
    kinds = AuditAction.__subclasses__()
    assert sum(len(k) for k in kinds) == len(catalogue())


def test_every_rule_is_recorded_under_its_own_action() -> None:
    assert {SecurityAction.of(r) for r in SecurityRule} == set(SecurityAction)
    assert all(a.value == SECURITY_PREFIX + r for r, a in zip(SecurityRule, SecurityAction))


def test_key_types_have_one_source() -> None:
    assert set(get_args(KeyTypeName)) == set(KeyType)  # the API schema's enum
    assert set(KEY_TYPES) == set(KeyType)
    assert KeysSettings.model_fields["default_key_type"].annotation is KeyType


def _literals(tree: ast.AST) -> list[ast.Constant]:
    """String constants, except bare string statements (docstrings)."""
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    ]


def _action_args(tree: ast.AST) -> list[ast.expr]:
    """The action argument of every ``AuditEvent(...)`` construction."""
    out: list[ast.expr] = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "AuditEvent":
            out += n.args[1:2] + [k.value for k in n.keywords if k.arg == "action"]
    return out


def bare_vocabulary(src: Path = SRC) -> list[str]:
    """``file:line value`` of every vocabulary word spelt outside its catalogue, and of
    every audit action built from a string expression."""
    words = catalogue() | {p.value for p in Permission} | {r.value for r in SecurityRule}
    words |= {t.value for t in KeyType}
    found = []
    for path in sorted(src.rglob("*.py")):
        name = path.relative_to(src).as_posix()
        if name in CATALOGUES or name.startswith("store/migrations/"):
            continue
        tree = ast.parse(path.read_text())
        found += [f"{name}:{c.lineno} {c.value}" for c in _literals(tree) if c.value in words]
        found += [
            f"{name}:{a.lineno} action {ast.unparse(a)}"
            for a in _action_args(tree)
            if isinstance(a, ast.Constant | ast.JoinedStr | ast.BinOp)
        ]
    return found


def test_vocabularies_are_spelt_only_in_their_catalogues() -> None:
    assert bare_vocabulary() == []


def test_the_scan_finds_a_bare_action_and_permission(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        '"""key.encrypt in a docstring is prose."""\n'
        'a = AuditEvent(actor, "key.encrypt", Outcome.SUCCESS)\n'
        'b = AuditEvent(actor, f"security.{rule}", Outcome.SUCCESS)\n'
        'c = require("keys:decrypt")\n'
    )
    assert bare_vocabulary(tmp_path) == [
        "mod.py:2 key.encrypt",
        "mod.py:4 keys:decrypt",
        "mod.py:2 action 'key.encrypt'",
        "mod.py:3 action f'security.{rule}'",
    ]

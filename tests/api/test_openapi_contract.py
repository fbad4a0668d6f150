"""The API's public contract does not drift: every operation and schema of the v1
OpenAPI document (tests/fixtures/openapi_v1.json) is still served identically,
descriptions aside. New routes and schemas may be added; none may be removed or
changed.

The snapshot was first written before the #13 restructuring. It was rewritten once,
deliberately, for #15 (items 16 and 18): request bodies refuse unknown fields
(``additionalProperties: false``), every credential is a security scheme (bearer JWT
and mutual TLS beside the API key), 429 and 503 carry ``Retry-After``, key types and
states are enums, the schemas carry examples and the real constraints (role names,
cursors, date-times), no 422 is documented (validation errors are 400), and the two
``PublicKeyOut`` got distinct names (``AuditPublicKeyOut``). Nothing was removed:
every path, operation, parameter, response status and field of the earlier snapshot
is in the new one (checked when it was rewritten; git holds the earlier file).
docs/openapi.json follows the code freely (tests/api/test_openapi_document.py); this
snapshot changes only by such a deliberate decision."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from strongroom.api.app import create_app
from strongroom.kms.local import create_master_key_file
from tests.api.conftest import make_settings

SNAPSHOT = Path(__file__).parents[1] / "fixtures" / "openapi_v1.json"
PROSE = frozenset({"description", "summary"})


def without_prose(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: without_prose(v) for k, v in node.items() if k not in PROSE}
    if isinstance(node, list):
        return [without_prose(v) for v in node]
    return node


def test_every_v1_operation_and_schema_is_unchanged(tmp_path: Path) -> None:
    old = without_prose(json.loads(SNAPSHOT.read_text()))
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/x.db", tmp_path)
    create_master_key_file(settings.kms.master_key_file)
    new = without_prose(create_app(settings).openapi())
    assert new["openapi"] == old["openapi"]
    for path, operations in old["paths"].items():
        assert path in new["paths"], path
        for method, op in operations.items():
            assert new["paths"][path].get(method) == op, f"{method.upper()} {path}"
    for name, schema in old["components"]["schemas"].items():
        assert new["components"]["schemas"].get(name) == schema, name
    assert new["components"]["securitySchemes"] == old["components"]["securitySchemes"]

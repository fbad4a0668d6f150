"""The API's public contract does not drift: every operation and schema of the v1
OpenAPI document (tests/fixtures/openapi_v1.json) is still served identically,
descriptions aside, or compatibly: an object may gain optional properties (a client
that never sends them is served as before), and an answer that a request must opt into
may be offered beside the old one (``anyOf``), for the operations listed in
``OPT_IN_ANSWERS``; the reserved built-in role names may grow with a new built-in
role. New routes and schemas may be added; none may be removed or
changed otherwise.

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
PROSE = frozenset({"description", "summary", "examples"})  # documentation, not contract
# Operations whose 200 may also take a shape only an opting-in request receives:
# per-item batch results (``partial: true``, issue #15 item 17).
OPT_IN_ANSWERS = frozenset({("post", "/api/v1/decrypt"), ("post", "/api/v1/rewrap")})


def without_prose(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: without_prose(v) for k, v in node.items() if k not in PROSE}
    if isinstance(node, list):
        return [without_prose(v) for v in node]
    return node


def compatible(old: Any, new: Any, widen: bool = False, output: bool = False) -> bool:
    """Whether ``new`` serves every client of ``old`` (``widen``: the old schema may
    become one alternative of an ``anyOf``; ``output``: a schema only ever answered,
    which may gain required properties, since a client reads what it knows)."""
    if old == new:
        return True
    if isinstance(old, list) and isinstance(new, list):
        pairs = zip(old, new, strict=False)
        return len(old) == len(new) and all(compatible(o, n, widen, output) for o, n in pairs)
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return False
    if widen and "anyOf" in new and "anyOf" not in old:
        return old in new["anyOf"] and set(new) <= {"anyOf", "title"}
    if set(new) != set(old):
        return False
    for key, value in old.items():
        if key == "not" and set(value) == {"enum"} == set(new[key]):
            # Reserved values (the built-in role names a custom role may not take) may
            # grow with a new built-in role; none may stop being reserved.
            if not set(value["enum"]) <= set(new[key]["enum"]):
                return False
        elif key == "properties":
            added = set(new[key]) - set(value)
            if not output and added & set(new.get("required", ())):
                return False
            props = new[key]
            if not all(compatible(v, props.get(k), widen, output) for k, v in value.items()):
                return False
        elif key == "required" and output:
            if not set(value) <= set(new[key]):
                return False
        elif not compatible(value, new[key], widen, output):
            return False
    return True


def test_compatibility_rule_refuses_what_breaks_a_client() -> None:
    a = {"a": {"type": "string"}}
    obj: dict[str, Any] = {"type": "object", "properties": a, "required": ["a"]}
    optional = {**obj, "properties": {**a, "b": {"type": "boolean"}}}
    assert compatible(obj, optional)
    assert not compatible(obj, {**optional, "required": ["a", "b"]})  # a new required field
    assert not compatible(obj, {**obj, "properties": {}})  # a field removed
    assert not compatible(obj, {**obj, "properties": {"a": {"type": "integer"}}})
    ref = {"$ref": "#/components/schemas/X"}
    assert not compatible(ref, {"anyOf": [ref, {"type": "null"}]})
    assert compatible(ref, {"anyOf": [ref, {"type": "null"}]}, widen=True)
    assert not compatible(ref, {"anyOf": [{"type": "null"}]}, widen=True)
    answered = {**optional, "required": ["a", "b"]}
    assert compatible(obj, answered, output=True)  # an answer may gain a field
    assert not compatible(obj, {**obj, "properties": {}, "required": []}, output=True)
    reserved = {"type": "string", "not": {"enum": ["admin", "user"]}}
    assert compatible(reserved, {**reserved, "not": {"enum": ["admin", "cert-admin", "user"]}})
    assert not compatible(reserved, {**reserved, "not": {"enum": ["admin"]}})


def test_every_v1_operation_and_schema_is_unchanged(tmp_path: Path) -> None:
    old = without_prose(json.loads(SNAPSHOT.read_text()))
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/x.db", tmp_path)
    create_master_key_file(settings.kms.master_key_file)
    new = without_prose(create_app(settings).openapi())
    assert new["openapi"] == old["openapi"]
    for path, operations in old["paths"].items():
        assert path in new["paths"], path
        for method, op in operations.items():
            served = new["paths"][path].get(method)
            if (method, path) in OPT_IN_ANSWERS:
                ok = compatible(op["responses"].pop("200"), served["responses"]["200"], True)
                served = {**served, "responses": {**served["responses"]}}
                served["responses"].pop("200")
                assert ok, f"{method.upper()} {path} 200"
            assert compatible(op, served), f"{method.upper()} {path}"
    for name, schema in old["components"]["schemas"].items():
        output = name.endswith(("Out", "Response"))  # answers only, never request bodies
        assert compatible(schema, new["components"]["schemas"].get(name), output=output), name
    assert new["components"]["securitySchemes"] == old["components"]["securitySchemes"]

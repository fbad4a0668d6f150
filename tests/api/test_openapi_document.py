"""The OpenAPI document a client generator can live with (issue #15, item 18), and
docs/openapi.json is that document: a route or model change that is not written to
it fails here. Regenerate with ``STRONGROOM_WRITE_OPENAPI=1`` and this test."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from strongroom.api.app import create_app
from strongroom.crypto.suites import KeyType
from strongroom.keys.models import KeyState
from strongroom.kms.local import create_master_key_file
from tests.api.conftest import App, make_settings

DOCUMENT = Path(__file__).parents[2] / "docs" / "openapi.json"
METHODS = frozenset({"get", "post", "put", "patch", "delete"})


def served_app(tmp_path: Path) -> FastAPI:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/x.db", tmp_path)
    create_master_key_file(settings.kms.master_key_file)
    return create_app(settings)


@pytest.fixture
def spec(tmp_path: Path) -> dict[str, Any]:
    return served_app(tmp_path).openapi()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in METHODS
    ]


def named(schema: dict[str, Any]) -> bool:
    """A named schema, or an optional one (``anyOf`` it and null)."""
    options = schema.get("anyOf", [schema])
    return any("$ref" in o for o in options) and all(
        "$ref" in o or o == {"type": "null"} for o in options
    )


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    schema = next((o for o in schema.get("anyOf", ()) if "$ref" in o), schema)
    ref = schema.get("$ref")
    if ref is None:
        return schema
    return dict(spec["components"]["schemas"][ref.rsplit("/", 1)[1]])


def test_docs_openapi_json_is_the_served_document(spec: dict[str, Any]) -> None:
    text = json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("STRONGROOM_WRITE_OPENAPI") == "1":
        DOCUMENT.write_text(text)
    assert DOCUMENT.read_text() == text, (
        "docs/openapi.json drifted from the app: STRONGROOM_WRITE_OPENAPI=1 "
        "pytest tests/api/test_openapi_document.py, and review the diff"
    )


def test_every_operation_has_examples_and_named_schemas(spec: dict[str, Any]) -> None:
    for method, path, op in operations(spec):
        where = f"{method.upper()} {path}"
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            assert named(body["schema"]), where  # not an inline schema
            assert resolve(spec, body["schema"]).get("examples"), where
        documented = False
        for status, response in op["responses"].items():
            for media, content in response.get("content", {}).items():
                if status.startswith("2") and media == "application/json":
                    assert named(content["schema"]), f"{where} {status}"
                    assert resolve(spec, content["schema"]).get("examples"), f"{where} {status}"
                    documented = True
                elif status.startswith("2"):
                    documented = documented or "example" in content
        params = [p for p in op.get("parameters", []) if p["in"] == "path"]
        documented = documented or (
            bool(params) and all(p["schema"].get("examples") for p in params)
        )
        assert documented, where


def test_every_credential_and_the_retry_answers_are_documented(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"] == {
        **schemes["APIKeyHeader"],
        "in": "header",
        "name": "X-API-Key",
    }
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    assert schemes["BearerAuth"]["bearerFormat"] == "JWT"
    assert schemes["MutualTLS"]["type"] == "mutualTLS"
    guarded = 0
    for method, path, op in operations(spec):
        where = f"{method.upper()} {path}"
        assert "422" not in op["responses"], where  # validation errors are 400 ENC001/REQ004
        assert "Retry-After" in op["responses"]["503"]["headers"], where
        if path.startswith("/api/v1") or path == "/metrics":
            guarded += 1
            alternatives = {name for option in op["security"] for name in option}
            assert alternatives == {"APIKeyHeader", "BearerAuth", "MutualTLS"}, where
            assert "Retry-After" in op["responses"]["429"]["headers"], where
    assert guarded > 20
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_key_types_and_states_are_enums(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert set(schemas["KeyType"]["enum"]) == set(KeyType)
    assert schemas["KeyMetadata"]["properties"]["keyType"] == {
        "$ref": "#/components/schemas/KeyType"
    }
    assert set(schemas["CreateKeyRequest"]["properties"]["keyType"]["anyOf"][0]["enum"]) == set(
        KeyType
    )
    assert set(schemas["KeyState"]["enum"]) == set(KeyState)
    assert schemas["KeyMetadata"]["properties"]["state"] == {
        "$ref": "#/components/schemas/KeyState"
    }
    assert set(schemas["VersionState"]["enum"]) == {"active", "destroyed"}
    assert set(schemas["AccessKeyState"]["enum"]) == {"active", "expired", "revoked"}
    # Request bodies refuse unknown fields, and say so.
    for name in ("EncryptRequest", "CreateKeyRequest", "RoleIn", "CreateAccessKeyRequest"):
        assert schemas[name]["additionalProperties"] is False, name


async def test_swagger_ui_is_served_from_the_package(app: App) -> None:
    r = await app.client.get("/docs")
    assert r.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in r.text and "/docs/assets/swagger-ui.css" in r.text
    assert "https://" not in r.text and "http://" not in r.text  # no CDN
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    for asset, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "css")):
        r = await app.client.get(f"/docs/assets/{asset}")
        assert r.status_code == 200 and kind in r.headers["content-type"], asset
        assert len(r.content) > 10_000, asset
    assert (await app.client.get("/redoc")).status_code == 404  # it would need a CDN
    # The API itself keeps its strict policy.
    r = await app.client.get("/healthz")
    assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"

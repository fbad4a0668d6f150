"""The OpenAPI document as a client generator needs it, and Swagger UI served from the
package (air-gapped hosts reach no CDN).

FastAPI's document is completed once, when first asked for: every credential the
guard accepts as a security scheme, the 429 and 503 answers with ``Retry-After`` on
every operation that can give them, the data endpoints' bodies as named schemas, and
no 422 (validation errors are 400 with a stable code: api/errors.py).
docs/openapi.json is this document; tests/api/test_openapi_document.py keeps it so.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from strongroom.api.deps import DOCUMENTED_BODIES

DOCS = "/docs"
ASSETS = "/docs/assets"

SECURITY_SCHEMES: dict[str, Any] = {
    "APIKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An access key (`strongroom access-keys create`).",
    },
    "BearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An OIDC access token (JWT) of a configured issuer.",
    },
    "MutualTLS": {
        "type": "mutualTLS",
        "description": "A verified client certificate mapped to a principal; alone, or "
        "beside a key or token where the configuration requires it.",
    },
}
# Any one of them; a request may present several (they combine: access/policy.py).
SECURITY: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 0},
    }
}
_RATE_LIMIT = {
    "RateLimit": {"description": "The budget left (IETF RateLimit)", "schema": {"type": "string"}},
    "RateLimit-Policy": {"description": "The budget's policy", "schema": {"type": "string"}},
}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
TOO_MANY = {
    "description": "A rate limit's budget is spent (RATE001)",
    "headers": {**_RETRY_AFTER, **_RATE_LIMIT},
    "content": _ERROR,
}
UNAVAILABLE = {
    "description": "The KMS, the database or the audit trail cannot serve now (SYS001): "
    "retry after Retry-After",
    "headers": _RETRY_AFTER,
    "content": _ERROR,
}


def document(app: FastAPI) -> dict[str, Any]:
    """The completed OpenAPI document (cached on the app)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for model in DOCUMENTED_BODIES:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    components["securitySchemes"] = SECURITY_SCHEMES
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            _complete(op)
            if method in ("post", "patch") and path.startswith("/api/v1/"):
                _idempotent(op)
    app.openapi_schema = spec
    return spec


def _complete(op: dict[str, Any]) -> None:
    responses = op.setdefault("responses", {})
    responses.pop("422", None)
    if "security" in op:
        # An operation that also answers without credentials keeps its empty option.
        anonymous: list[dict[str, list[str]]] = [{}] if {} in op["security"] else []
        op["security"] = anonymous + SECURITY
        responses["429"] = TOO_MANY
    if "503" in responses:
        responses["503"] = {**responses["503"], "headers": _RETRY_AFTER}


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes the write safe to retry (docs/idempotency.md): its first answer "
    "is kept 24 h for this principal and key and replayed to a repeat with "
    "Idempotent-Replayed: true. 1-255 printable ASCII characters, e.g. a UUID (else 400 "
    "IDEM001). The same key for a different request: 422 IDEM002 (the one 422 of the "
    "API: validation errors are 400); while the first still runs: 409 IDEM003.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
}


def _idempotent(op: dict[str, Any]) -> None:
    """Every POST and PATCH under /api/v1 takes ``Idempotency-Key`` (api/idempotency.py)."""
    op.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    responses = op["responses"]
    conflict = "The first request with this Idempotency-Key is still running (IDEM003)"
    if "409" in responses:
        conflict = f"{responses['409'].get('description', 'Conflict')}; or: {conflict}"
    responses["409"] = {**responses.get("409", {}), "description": conflict, "content": _ERROR}


def install(app: FastAPI) -> None:
    """The document, and Swagger UI on /docs from the package's own assets."""
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="swagger-ui-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect = f"{DOCS}/oauth2-redirect"

    @app.get(DOCS, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            oauth2_redirect_url=redirect,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )

    @app.get(redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

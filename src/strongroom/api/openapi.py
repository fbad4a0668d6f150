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
    for operations in spec["paths"].values():
        for op in operations.values():
            _complete(op)
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

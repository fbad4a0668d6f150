"""The credential broker (docs/broker.md): send a request upstream with a stored key
injected, without ever holding the key.

- ``POST /api/v1/broker/{project}/{key}/request``: the request as JSON (method, URL,
  headers, body as text or base64); the answer as JSON.
- ``/api/v1/broker/{project}/{key}/{scheme}/{host}/{path}`` (GET, POST, PUT, PATCH,
  DELETE): forward-proxy mode. Point a client's base URL at
  ``…/broker/{project}/{key}/https/api.openai.com/`` and it works unchanged: method,
  query, headers and body pass through, and the upstream's status, headers and body
  come back as they are (the key's values scrubbed).

Both need ``api-keys:use`` on ``{project}/{key}``. The caller's own
credentials (``X-API-Key``, ``Authorization``) never go upstream.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from strongroom.access.permissions import Permission
from strongroom.api.deps import api_key_header, app_services, authenticate
from strongroom.api.schemas import Strict, examples
from strongroom.context import Actor
from strongroom.credentials.broker_errors import BadOutbound
from strongroom.credentials.contract import Answer, Outbound
from strongroom.credentials.models import NAME_REGEX
from strongroom.services.container import Services

router = APIRouter(prefix="/api/v1/broker", tags=["broker"])
# The stored keys' own name rules (credentials/models.py): a longer or dotted name
# would pass the schema and then be refused by the key lookup.
Name = Annotated[str, Path(pattern=NAME_REGEX, max_length=64, examples=["openai"])]
PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# What a forward-proxy caller sends that is about reaching us, not the upstream.
_OURS = {"host", "content-length", "x-request-id"}
UPSTREAM_MARK = b"x-strongroom-broker"
# Strongroom's own answers (an upstream's pass through in the proxy mode, any status).
REFUSALS: dict[int | str, dict[str, object]] = {
    400: {"description": "BRK009 malformed upstream request, ENC001 invalid body"},
    403: {"description": "AUTH002, BRK001 host not allowed, BRK002 address refused, BRK010"},
    404: {"description": "APK001 no such project or key"},
    409: {"description": "APK007 the key is revoked"},
    410: {"description": "APK009 the key is past its expiry"},
    413: {"description": "BRK007 request body too large"},
    423: {"description": "APK008 the key is blocked"},
    502: {"description": "BRK003 DNS, BRK005 unreachable, BRK006 too large, BRK008 redirect"},
    504: {"description": "BRK004 upstream timed out"},
}


async def _using(
    request: Request, _doc: Annotated[str | None, Depends(api_key_header)] = None
) -> tuple[Services, Actor]:
    """Authenticate, then ``api-keys:use`` on the key named by the path, before any
    parameter or body is validated (an unauthenticated caller learns nothing)."""
    svc = app_services(request)
    ctx = await authenticate(request, svc)
    params = request.path_params
    resource = f"{params.get('project')}/{params.get('key')}"  # as credentials/ names it
    await svc.guard.authorize(ctx, Permission.API_KEYS_USE, resource=resource)
    return svc, ctx.actor


Using = Annotated[tuple[Services, Actor], Depends(_using)]


class BrokerRequest(Strict):
    model_config = examples(
        {
            "method": "POST",
            "url": "https://api.openai.com/v1/chat/completions",
            "headers": {"Content-Type": "application/json"},
            "body": '{"model": "gpt-4o-mini", "messages": []}',
        }
    )
    method: Annotated[str, Field(pattern=r"^[A-Za-z]{1,16}$")]
    url: Annotated[str, Field(min_length=1, max_length=8192)]
    """Absolute ``https://`` (or ``http://`` to a network the key names) URL."""
    headers: Annotated[dict[str, str], Field(default_factory=dict, max_length=100)]
    body: str | None = None
    bodyEncoding: Literal["text", "base64"] = "text"


class BrokerAnswer(BaseModel):
    model_config = examples(
        {
            "status": 200,
            "headers": [["content-type", "application/json"]],
            "body": '{"id": "chatcmpl-1"}',
            "bodyEncoding": "text",
        }
    )
    status: int
    headers: list[tuple[str, str]]
    body: str
    bodyEncoding: Literal["text", "base64"]

    @classmethod
    def of(cls, a: Answer) -> BrokerAnswer:
        try:
            text = a.body.decode()
            return cls(status=a.status, headers=list(a.headers), body=text, bodyEncoding="text")
        except UnicodeDecodeError:
            text = base64.b64encode(a.body).decode()
            return cls(status=a.status, headers=list(a.headers), body=text, bodyEncoding="base64")


def _body(b: BrokerRequest) -> bytes:
    if b.body is None:
        return b""
    if b.bodyEncoding == "text":
        return b.body.encode()
    try:
        return base64.b64decode(b.body, validate=True)
    except (binascii.Error, ValueError):
        raise BadOutbound(reason="body") from None


@router.post(
    "/{project}/{key}/request",
    response_model=BrokerAnswer,
    summary="Send a request upstream with the key injected",
    responses=REFUSALS,
)
async def broker_request(
    using: Using, project: Name, key: Name, body: BrokerRequest
) -> BrokerAnswer:
    """The upstream's status is in the body; this call answers 200 when the upstream
    answered at all (whatever its status), an error ``BRKnnn`` when it did not."""
    svc, actor = using
    out = Outbound(body.method, body.url, tuple(body.headers.items()), _body(body))
    return BrokerAnswer.of(await svc.broker.send(actor, project, key, out))


async def broker_proxy(
    request: Request,
    using: Using,
    project: Name,
    key: Name,
    scheme: Annotated[str, Path(examples=["https"], description="http or https")],
    host: Annotated[str, Path(max_length=260, examples=["api.openai.com"])],
    path: Annotated[str, Path(examples=["v1/models"])],
) -> Response:
    """Forward-proxy mode: the upstream's status, headers and body as they are."""
    svc, actor = using
    # The raw path keeps the caller's percent-encoding (the decoded one would not).
    raw = request.scope.get("raw_path") or request.url.path.encode()
    tail = raw.decode("latin-1").split("/", 7)[7].partition("/")[2]
    query = request.url.query
    url = f"{scheme}://{host}/{tail}" + (f"?{query}" if query else "")
    headers = tuple((k, v) for k, v in request.headers.items() if k.lower() not in _OURS)
    body = await request.body()
    out = Outbound(request.method, url, headers, body)
    answer = await svc.broker.send(actor, project, key, out)
    response = Response(answer.body, status_code=answer.status)
    # Raw, so repeated headers (Set-Cookie) stay apart; framing is Starlette's own.
    response.raw_headers += [
        (k.lower().encode("latin-1"), v.encode("latin-1"))
        for k, v in answer.headers
        if not k.lower().startswith("x-strongroom-")
    ]
    # The upstream's answer, whatever its status (a client tells it from ours).
    response.raw_headers.append((UPSTREAM_MARK, b"upstream"))
    return response


for _method in PROXY_METHODS:
    # One operation per method: one id each in the OpenAPI document.
    router.add_api_route(
        "/{project}/{key}/{scheme}/{host}/{path:path}",
        broker_proxy,
        methods=[_method],
        operation_id=f"broker_proxy_{_method.lower()}",
        summary=f"Forward-proxy mode ({_method})",
        response_class=Response,
        responses={200: {"description": "the upstream's answer (any status)"}, **REFUSALS},
    )

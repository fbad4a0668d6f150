"""Optional telemetry with real receivers on 127.0.0.1: OTLP/HTTP traces and Sentry
envelopes. Spans name routes but carry no identifier, query or header; Sentry events
carry the exception type but no local variables, request data or secrets."""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from strongroom.api.app import create_app
from strongroom.kms.local import create_master_key_file
from strongroom.observability.telemetry import redact_path
from strongroom.services.container import build_services
from tests.api.conftest import make_settings

USER = "alice-canary-7731"
PLAIN = "PLAINTEXT-CANARY-5521"
LEAKED_KEY = "srk_live_aaaaaaaaaaaaaaaa_" + "b" * 52 + "_ccccccc"


class Receiver:
    """Collects POST bodies (decompressed) on a free port."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                enc = self.headers.get("Content-Encoding", "")
                if enc == "gzip":
                    raw = gzip.decompress(raw)
                elif enc == "deflate":
                    raw = zlib.decompress(raw)
                outer.bodies.append((self.path, raw))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


async def started(tmp_path: Path, **overrides: Any) -> tuple[Any, str]:
    """Migrated, started services on a fresh SQLite file, and an admin access key."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 't.db'}", tmp_path, **overrides)
    create_master_key_file(settings.kms.master_key_file)
    services = build_services(settings)
    await services.start(migrate=True)
    _, key = await services.access.create("default", ["admin"], "t")
    return services, key


def test_redact_path() -> None:
    assert redact_path(f"/api/v1/keys/{USER}/history") == "/api/v1/keys/{id}/history"
    assert redact_path("/api/v1/encrypt") == "/api/v1/encrypt"


async def test_traces_name_routes_without_identifiers(tmp_path: Path, receiver: Receiver) -> None:
    services, key = await started(tmp_path, otel_endpoint=f"http://127.0.0.1:{receiver.port}")
    app = create_app(services.settings, services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sr"
    ) as client:
        headers = {"X-API-Key": key}
        assert (
            await client.post("/api/v1/keys", json={"userId": USER}, headers=headers)
        ).is_success
        r = await client.post(
            "/api/v1/encrypt", json={"userId": USER, "data": [PLAIN]}, headers=headers
        )
        assert r.status_code == 200
        await client.get(f"/api/v1/keys/{USER}?token={LEAKED_KEY}", headers=headers)
    app.state.tracer_provider.force_flush()
    await services.close()
    spans = []
    for path, body in receiver.bodies:
        assert path == "/v1/traces"
        req = ExportTraceServiceRequest.FromString(body)
        spans += [s for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]
        for canary in (USER, PLAIN, LEAKED_KEY, key):
            assert canary.encode() not in body
    names = {s.name for s in spans}
    assert "POST /api/v1/encrypt" in names and "GET /api/v1/keys/{id}" in names, names
    attrs = {a.key: a.value.string_value for s in spans for a in s.attributes}
    assert attrs.get("http.route") in {"/api/v1/keys/{userId}", "/api/v1/encrypt", "/api/v1/keys"}


async def test_sentry_gets_type_not_values(tmp_path: Path, receiver: Receiver) -> None:
    import sentry_sdk

    services, key = await started(
        tmp_path, sentry_dsn=f"http://publickey@127.0.0.1:{receiver.port}/1"
    )

    async def broken(*args: Any, **kwargs: Any) -> Any:
        plaintext = PLAIN  # a local variable Sentry must not capture
        raise RuntimeError(f"boom {LEAKED_KEY} {len(plaintext)}")

    services.keys.metadata = broken
    app = create_app(services.settings, services)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sr"
        ) as client:
            r = await client.get(f"/api/v1/keys/{USER}", headers={"X-API-Key": key})
        assert r.status_code == 500 and r.json()["error"]["code"] == "SYS001"
        sentry_sdk.flush(timeout=5)
    finally:
        sentry_sdk.get_client().close()
        await services.close()
    envelopes = [body for path, body in receiver.bodies if path.endswith("/envelope/")]
    assert envelopes, receiver.bodies
    blob = b"".join(envelopes)
    assert b"RuntimeError" in blob
    for canary in (PLAIN, LEAKED_KEY, key, USER):
        assert canary.encode() not in blob, canary

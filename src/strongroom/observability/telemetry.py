"""Optional OpenTelemetry tracing and Sentry error reporting, off unless configured.

Both are imported only when enabled (``pip install 'strongroom[telemetry]'``).
What leaves the process is kept to what an operator needs and nothing a caller
sent: spans carry the route, method, status and a request path with identifiers
replaced (``/api/v1/keys/{id}``), never headers, query strings or bodies; Sentry
events carry the exception type and a masked message and stack (no local
variables, no request data, no PII), and pass through the log masking filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from strongroom.config import TelemetrySettings
from strongroom.logging import mask

Reporter = Callable[[BaseException], None]
_ID_SEGMENT = re.compile(r"^(/api/v1/[a-z-]+)/[^/]+")
_REDACTED_ATTRS = ("url.query", "http.url", "url.full")


def redact_path(path: str) -> str:
    """The path with the identifier after a resource replaced: ``/api/v1/keys/{id}/...``."""
    return _ID_SEGMENT.sub(r"\1/{id}", path)


def configure_telemetry(settings: TelemetrySettings, app: FastAPI) -> Reporter | None:
    """Install what is configured; returns the error reporter (or None)."""
    if settings.otel_endpoint:
        _tracing(settings, app)
    return _sentry(settings) if settings.sentry_dsn else None


def _tracing(settings: TelemetrySettings, app: FastAPI) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.otel_service_name}),
        sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio)),
    )
    endpoint = settings.otel_endpoint.rstrip("/") + "/v1/traces"  # type: ignore[union-attr]
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))

    def request_hook(span: Any, scope: dict[str, Any]) -> None:
        if span is None or not span.is_recording():
            return
        path = redact_path(str(scope.get("path", "")))
        span.set_attribute("url.path", path)
        span.set_attribute("http.target", path)
        for attr in _REDACTED_ATTRS:
            span.set_attribute(attr, "")
        span.update_name(f"{scope.get('method', '')} {path}".strip())

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls="healthz,readyz,metrics",
        server_request_hook=request_hook,
        exclude_spans=["receive", "send"],
    )
    app.state.tracer_provider = provider  # flushed at shutdown


def _sentry(settings: TelemetrySettings) -> Reporter:
    import sentry_sdk

    def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        event.pop("request", None)
        event.pop("user", None)
        event.pop("breadcrumbs", None)
        for exc in event.get("exception", {}).get("values", []):
            exc["value"] = mask(str(exc.get("value", "")))
            for frame in exc.get("stacktrace", {}).get("frames", []):
                frame.pop("vars", None)
                for key in ("context_line", "pre_context", "post_context"):
                    frame.pop(key, None)
        if "message" in event:
            event["message"] = mask(str(event["message"]))
        return event

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.sentry_environment,
        include_local_variables=False,
        include_source_context=False,
        max_request_body_size="never",
        default_integrations=False,  # no logging breadcrumbs, no auto request capture
        before_send=before_send,  # type: ignore[arg-type]
        traces_sample_rate=0.0,
    )
    return sentry_sdk.capture_exception  # type: ignore[return-value]

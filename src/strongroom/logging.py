"""Structured JSON logs. Events carry codes, counts and ids, never values.

``mask_secrets`` is the last line of defence behind that rule: every string in an
event (and in stdlib records routed through structlog) that looks like an access
key, a bearer token (JWT), a Strongroom ciphertext, a PEM block or a long
base64/hex run is replaced with ``[masked]`` before it is rendered.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

_SECRETISH = re.compile(
    r"srk_[a-z]+_[a-z2-7]{16}_[a-z2-7]+(?:_[a-z2-7]+)?"  # access keys (and fragments)
    r"|eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*"  # JWTs
    r"|\b[a-z][a-z0-9]{0,15}:v\d{1,10}:[A-Za-z0-9_-]{16,}"  # ciphertexts
    r"|-----BEGIN [A-Z ]+-----[\s\S]*?(?:-----END [A-Z ]+-----|$)"  # PEM
    r"|\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}"  # authorization header values
    r"|[A-Za-z0-9+/_-]{40,}={0,2}"  # long base64/base64url runs (keys, blobs)
    r"|\b[0-9a-fA-F]{32,}\b"  # hex keys
)
_SAFE_KEYS = frozenset({"timestamp", "level", "event", "request_id", "logger"})


# The shortest text each alternative above can match: a JWT start ("eyJ" + 5 + ".")
# is 9 characters, every other alternative at least 14. Most logged strings (ids,
# routes, addresses, methods) are shorter: they skip the regex, which is most of the
# cost of a log line (tests/unit/test_logging.py checks the shortcut against it).
_SHORTEST_JWT, _SHORTEST_OTHER = 9, 14


def mask(text: str) -> str:
    n = len(text)
    if n < _SHORTEST_JWT or (n < _SHORTEST_OTHER and "eyJ" not in text):
        return text
    return _SECRETISH.sub("[masked]", text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def mask_secrets(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if key not in _SAFE_KEYS or key == "event":
            event[key] = _scrub(value)
    return event


# Database drivers trace each statement with its parameters (free text, wrapped keys)
# at DEBUG, SQLAlchemy's engine at INFO: such values are not masked by pattern.
PARAMETER_TRACERS = ("aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool")


def quiet_parameter_tracers(level: int) -> None:
    """Keep the parameter tracers at WARNING or above whatever the service's level."""
    for name in PARAMETER_TRACERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, level))


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Libraries' stdlib logs (uvicorn, sqlalchemy, ...) get the same masking and JSON.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                _format_exc_type_only,
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                mask_secrets,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_parameter_tracers(root.level)
    structlog.configure(
        processors=[*shared, mask_secrets, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )


def _format_exc_type_only(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A library's exception is logged by type: its message or traceback may hold values."""
    exc_info = event.pop("exc_info", None)
    record = event.get("_record")
    if exc_info is None and isinstance(record, logging.LogRecord):
        exc_info = record.exc_info
    if exc_info and isinstance(exc_info, tuple) and exc_info[0] is not None:
        event["error_type"] = exc_info[0].__name__
    return event

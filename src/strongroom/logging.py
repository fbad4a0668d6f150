"""Structured JSON logs. Events carry codes, counts and ids, never values.

``mask_secrets`` is the last line of defence behind that rule: every string in an
event (and in stdlib records routed through structlog) that looks like an access
key, a bearer token (JWT), a Strongroom ciphertext, a PEM block or a long
base64/hex run is replaced with ``[masked]`` before it is rendered.
"""

from __future__ import annotations

import contextvars
import datetime
import logging
import re
import sys
import time
from collections.abc import MutableMapping
from typing import Any, TextIO

import orjson
import structlog
from structlog.contextvars import STRUCTLOG_KEY_PREFIX

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
# at DEBUG, SQLAlchemy's engine at INFO: such values are not masked by pattern. httpcore
# traces every response's headers at DEBUG: an upstream that echoes a brokered key
# (credentials/broker.py) would put it there before the broker scrubs it.
PARAMETER_TRACERS = (
    *("aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool"),
    "httpcore",
)


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
    processors = [*shared, mask_secrets, structlog.processors.JSONRenderer()]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    global _FAST
    writer = structlog.PrintLogger(stream)
    _FAST = (tuple(processors), writer) if root.level <= logging.INFO else None


# The chain above, once more, for the one event every request logs (api/access_log.py):
# structlog's per-call machinery (bound logger, context copy, processors, the stdlib
# encoder) was about a sixth of a single-item request's CPU. Same fields, same order,
# same masking, same level filter, the same writer (and its lock); JSON from orjson.
# Set by configure_logging when INFO is on; used only while structlog still runs the
# chain configure_logging installed (capture_logs in tests swaps its processors).
_FAST: tuple[tuple[Any, ...], structlog.PrintLogger] | None = None
_PREFIX_LEN = len(STRUCTLOG_KEY_PREFIX)


def info_line(event: str, fields: dict[str, Any]) -> bool:
    """Write ``fields`` as one INFO line ``event``, as the configured chain renders it
    (``fields`` is consumed); False if that chain is not in place: log through
    structlog instead."""
    fast = _FAST
    if fast is None or tuple(structlog.get_config()["processors"]) != fast[0]:
        return False
    fields["event"] = event
    for var, value in contextvars.copy_context().items():  # merge_contextvars
        name = var.name
        if name.startswith(STRUCTLOG_KEY_PREFIX) and value is not Ellipsis:
            fields.setdefault(name[_PREFIX_LEN:], value)
    fields["level"] = "info"
    fields["timestamp"] = _timestamp()
    mask_secrets(None, "info", fields)
    fast[1].msg(orjson.dumps(fields, default=repr).decode())
    return True


_stamp: tuple[int, str] = (0, "")


def _timestamp() -> str:
    """``datetime.now(UTC).isoformat()`` with ``Z`` (structlog's TimeStamper("iso",
    utc=True)), the date and time formatted once per second."""
    global _stamp
    now_us = time.time_ns() // 1000
    sec, us = divmod(now_us, 1_000_000)
    if _stamp[0] != sec:
        text = datetime.datetime.fromtimestamp(sec, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _stamp = (sec, text)
    # isoformat leaves out a zero fraction
    return f"{_stamp[1]}.{us:06d}Z" if us else f"{_stamp[1]}Z"


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

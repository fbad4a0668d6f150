"""The log masking filter: canary secrets of every shape never reach the output,
whether logged through structlog or by a library through stdlib logging."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import structlog
import structlog.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.logging import _SECRETISH, configure_logging, info_line, mask

CANARIES = {
    "access key": "srk_live_abcdefghijklmnop_" + "a" * 52 + "_abcdefg",
    "jwt": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJlLWNhbmFyeQ",
    "ciphertext": "sr:v3:AQBQ" + "x" * 120,
    "pem": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END PRIVATE KEY-----",
    "hex key": "9f" * 32,
    "bearer": "Bearer abc.def.ghi-canary-token",
}


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("INFO", stream)
    yield stream
    structlog.reset_defaults()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


@pytest.mark.parametrize("name", sorted(CANARIES))
def test_mask_removes_each_shape(name: str) -> None:
    text = f"before {CANARIES[name]} after"
    masked = mask(text)
    assert CANARIES[name] not in masked and "[masked]" in masked
    assert masked.startswith("before") and masked.endswith("after")


def test_ordinary_words_ids_and_counts_survive() -> None:
    for text in ("key.encrypt", "user-42", "default", "items=100", "ENC001", "x" * 39):
        assert mask(text) == text


def test_structlog_and_stdlib_output_is_masked(output: io.StringIO) -> None:
    log = structlog.get_logger("test")
    log.warning("oops", value=CANARIES["access key"], nested={"t": [CANARIES["jwt"]]})
    try:
        raise ValueError(f"bad {CANARIES['ciphertext']}")
    except ValueError:
        logging.getLogger("some.library").exception("failed with %s", CANARIES["pem"])
    logging.getLogger("uvicorn.error").error("header %s", CANARIES["bearer"])
    err = output.getvalue()
    assert err.count("[masked]") >= 4
    for canary in CANARIES.values():
        assert canary not in err
    assert "ValueError" in err and "Traceback" not in err  # type only, never the message


_ALPHABET = "eyJ.srk_live-ABCDEFGHIJ:v1:0123456789abcdef+/=BEGIN Bearer "


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_the_short_text_shortcut_masks_exactly_what_the_pattern_masks(text: str) -> None:
    """``mask`` skips the regex for text too short to hold any secret shape: that must
    never change its answer."""
    assert mask(text) == _SECRETISH.sub("[masked]", text)


@pytest.mark.parametrize("text", ["eyJabcde.", "eyJhbGciO.x", "Bearer abcdefgh", "x" * 14])
def test_the_shortest_secret_shapes_are_still_checked(text: str) -> None:
    assert mask(text) == _SECRETISH.sub("[masked]", text)
    assert len(text) >= 9


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_access_line_shortcut_renders_what_the_chain_renders(output: io.StringIO) -> None:
    """``info_line`` (api/access_log.py's shortcut past structlog) gives the same keys in
    the same order, the same values and the same masking as the configured chain."""
    fields = {
        "request_id": "rid-1",
        "client_ip": "203.0.113.7",
        "user_agent": f"agent {CANARIES['jwt']}",
        "api_key_id": None,
        "endpoint": "/api/v1/encrypt",
        "status_code": 200,
        "response_time_ms": 1.25,
    }
    structlog.contextvars.bind_contextvars(request_id="rid-1", tenant="t-1")
    try:
        structlog.get_logger("strongroom.access").info("access", **fields)
        assert info_line("access", dict(fields)) is True
    finally:
        structlog.contextvars.clear_contextvars()
    chain, short = _lines(output)
    assert list(chain) == list(short)
    assert {k: v for k, v in short.items() if k != "timestamp"} == {
        k: v for k, v in chain.items() if k != "timestamp"
    }
    assert short["user_agent"] == "agent [masked]" and CANARIES["jwt"] not in output.getvalue()
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")
    assert stamp.fullmatch(short["timestamp"]) and stamp.fullmatch(chain["timestamp"])
    gap = datetime.fromisoformat(short["timestamp"]) - datetime.fromisoformat(chain["timestamp"])
    assert timedelta(0) <= gap < timedelta(seconds=5)


def test_the_access_line_shortcut_steps_aside(output: io.StringIO) -> None:
    """Not while structlog runs another chain (capture_logs), and not below INFO."""
    with structlog.testing.capture_logs() as logs:
        assert info_line("access", {"status_code": 200}) is False
    assert logs == []
    configure_logging("WARNING", output)
    assert info_line("access", {"status_code": 200}) is False
    assert output.getvalue() == ""

"""The log masking filter: canary secrets of every shape never reach the output,
whether logged through structlog or by a library through stdlib logging."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.logging import _SECRETISH, configure_logging, mask

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

"""Scrubbing a key's values from an upstream's answer (credentials/scrub.py) and the
outbound shaping (credentials/outbound.py)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from strongroom.credentials.contract import Injection, InjectionKind
from strongroom.credentials.egress import parse_url
from strongroom.credentials.outbound import path_template, request_headers, with_query
from strongroom.credentials.scrub import MARK, Scrubber

KEY = b"sk-live_9f8e7d6c5b4a/3+2=1 xyz"
OLD = b"sk-old-0123456789abcdef"


def _echoes(v: bytes) -> list[bytes]:
    t = v.decode()
    out = [v, quote(t, safe="").encode(), quote_plus(t).encode(), json.dumps(t).encode()]
    out += [v.hex().encode(), v.hex().upper().encode(), quote(t, safe="").lower().encode()]
    for prefix in (b"", b"u:", b"us:", b"use:"):
        out.append(base64.b64encode(prefix + v))
        out.append(base64.urlsafe_b64encode(prefix + v).rstrip(b"="))
    return out


@pytest.mark.parametrize("value", [KEY, OLD])
def test_every_form_of_either_value_is_removed(value: bytes) -> None:
    s = Scrubber(KEY, OLD)
    for echo in _echoes(value):
        body = b'{"echo": "Bearer ' + echo + b'", "n": 1}'
        cleaned = s.clean(body)
        assert MARK in cleaned, echo
        assert not s.found_in(cleaned), echo
        for e in _echoes(value):
            assert e not in cleaned or len(e) < 6


def test_text_and_absent_values() -> None:
    s = Scrubber(KEY, None)
    assert s.text("x-echo: " + KEY.decode()) == "x-echo: [REDACTED]"
    assert s.clean(b"nothing here") == b"nothing here"
    assert Scrubber(None, b"").clean(b"abc") == b"abc"


def test_caller_credentials_never_go_upstream() -> None:
    inj = Injection(InjectionKind.HEADER, "X-Upstream-Key", "{key}")
    given = (
        ("Authorization", "Bearer mine"), ("cookie", "a=b"), ("X-API-Key", "srk_live_x"),
        ("x-upstream-key", "forged"), ("X-Tenant-Id", "t"), ("Proxy-Authorization", "p"),
        ("Connection", "close, X-Custom"), ("X-Custom", "1"), ("X-Forwarded-For", "10.0.0.1"),
        ("Accept-Encoding", "gzip"), ("Host", "evil"), ("Content-Length", "99"),
        ("Accept", "application/json"),
    )  # fmt: skip
    out = request_headers("POST", given, inj, b"{}", "VALUE")
    assert out == (
        ("Accept", "application/json"),
        ("Accept-Encoding", "identity"),
        ("Content-Length", "2"),
        ("X-Upstream-Key", "VALUE"),
    )


def test_query_injection_replaces_a_caller_parameter() -> None:
    d = with_query(parse_url("https://x.example/p?api_key=forged&q=1"), "api_key", "a b&c")
    assert d.target == "/p?q=1&api_key=a%20b%26c"


def test_path_template_keeps_words_only() -> None:
    d = parse_url("https://x.example/v1/users/12345/tokens/ab12cd34ef56?limit=5&page=2&k%3D=1")
    assert path_template(d) == "/v1/users/{}/tokens/{}?{}&limit&page"

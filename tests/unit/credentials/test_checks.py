"""The checks of what callers give a stored key: host patterns, networks, injection,
values (credentials/models.py), each with its own code and nothing echoed."""

from __future__ import annotations

import pytest

from strongroom.credentials.contract import Injection, InjectionKind
from strongroom.credentials.errors import (
    InvalidHost,
    InvalidInjection,
    InvalidKeyValue,
    InvalidNetwork,
)
from strongroom.credentials.models import (
    check_host,
    check_injection,
    check_networks,
    check_value,
    host_allowed,
)

H = InjectionKind.HEADER


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("api.openai.com", "api.openai.com"),
        ("API.Stripe.com.", "api.stripe.com"),
        ("*.example.com", "*.example.com"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
    ],
)
def test_good_hosts(given: str, stored: str) -> None:
    assert check_host(given) == stored


@pytest.mark.parametrize(
    "bad", ["", "*.com", "*", "a..b", "-a.com", "a_b.com", "https://a.com", "a.com/x", "1.2.3"]
)
def test_bad_hosts(bad: str) -> None:
    with pytest.raises(InvalidHost):
        check_host(bad)


def test_wildcards_match_one_label_or_more_never_the_apex() -> None:
    assert host_allowed(["*.example.com"], "api.example.com")
    assert host_allowed(["*.example.com"], "a.b.example.com")
    assert not host_allowed(["*.example.com"], "example.com")
    assert not host_allowed(["*.example.com"], "evilexample.com")
    assert host_allowed(["api.openai.com"], "API.OPENAI.COM")


def test_networks() -> None:
    assert check_networks(["127.0.0.0/8", "10.1.0.0/16", "::1/128"]) == (
        "127.0.0.0/8",
        "10.1.0.0/16",
        "::1/128",
    )
    for bad in (["10.0.0.1/8"], ["nope"], ["300.0.0.0/8"]):
        with pytest.raises(InvalidNetwork):
            check_networks(bad)


@pytest.mark.parametrize(
    "inj",
    [
        Injection(H, "Authorization", "Bearer {key}"),
        Injection(H, "x-api-key", "{key}"),
        Injection(InjectionKind.QUERY, "api_key", "{key}"),
    ],
)
def test_good_injections(inj: Injection) -> None:
    assert check_injection(inj) == inj


@pytest.mark.parametrize(
    "inj",
    [
        Injection(H, "Authorization", "Bearer"),
        Injection(H, "Authorization", "{key} {key}"),
        Injection(H, "Authorization", "{key}{other}"),
        Injection(H, "Host", "{key}"),
        Injection(H, "Bad Header", "{key}"),
        Injection(H, "X", "a\r\n{key}"),
    ],
)
def test_bad_injections(inj: Injection) -> None:
    with pytest.raises(InvalidInjection):
        check_injection(inj)


def test_values_are_printable_and_bounded() -> None:
    assert check_value("sk-live-1", 100) == b"sk-live-1"
    for bad in ("", "a b", "a\r\nX-Evil: 1", "x" * 101):
        with pytest.raises(InvalidKeyValue) as e:
            check_value(bad, 100)
        assert bad not in str(e.value.text) or bad == ""

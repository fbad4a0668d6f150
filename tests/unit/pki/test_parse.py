"""Reading imports never fails with anything but the domain's 4xx errors, whatever
the bytes; the query semantics and the API's usage names agree with the domain."""

from __future__ import annotations

from collections.abc import Callable
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.api.certificate_helpers import make_ca, pem

from strongroom.api.certificate_schemas import ExtKeyUsage, KeyUsage
from strongroom.errors import StrongroomError
from strongroom.pki.errors import BadCertificate, BadPassword, BundleTooLarge
from strongroom.pki.facts import facts_of, san_candidates, san_matches
from strongroom.pki.parse import Bundle, parse_der, parse_pem, parse_pkcs12
from strongroom.pki.policy import EXT_KEY_USAGES, KEY_USAGES

EXPECTED = (BadCertificate, BadPassword, BundleTooLarge)
CA = make_ca("Fuzz CA")
VALID = pem(CA.cert).encode()


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2048), password=st.none() | st.binary(max_size=16))
def test_garbage_is_a_4xx(data: bytes, password: bytes | None) -> None:
    parsers: list[Callable[[], Bundle]] = [
        lambda: parse_pem(data, password, 4096),
        lambda: parse_der(data, 4096),
        lambda: parse_pkcs12(data, password, 4096),
    ]
    for parse in parsers:
        try:
            bundle = parse()
        except EXPECTED as exc:
            assert 400 <= exc.status < 500
        else:
            for cert in bundle.certificates:
                facts_of(cert)


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_a_damaged_certificate_is_a_4xx_or_a_certificate(position: int, value: int) -> None:
    raw = bytearray(VALID)
    raw[position % len(raw)] = value
    try:
        for cert in parse_pem(bytes(raw), None, 4096).certificates:
            facts_of(cert)
    except StrongroomError as exc:
        assert 400 <= exc.status < 500


def test_size_limit() -> None:
    with pytest.raises(BundleTooLarge):
        parse_pem(VALID, None, len(VALID) - 1)


def test_san_semantics() -> None:
    assert san_candidates("WWW.Example.com") == ("www.example.com", "*.example.com")
    assert san_candidates("localhost") == ("localhost",)
    assert san_matches("a.example.com", frozenset({"*.example.com"}))
    assert not san_matches("a.b.example.com", frozenset({"*.example.com"}))
    assert not san_matches("example.com", frozenset({"*.example.com"}))


def test_the_api_names_every_usage_the_domain_knows() -> None:
    assert set(get_args(KeyUsage)) == set(KEY_USAGES)
    assert set(get_args(ExtKeyUsage)) == set(EXT_KEY_USAGES)

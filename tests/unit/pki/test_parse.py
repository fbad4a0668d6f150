"""Reading imports never fails with anything but the domain's 4xx errors, whatever
the bytes; the query semantics and the API's usage names agree with the domain."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.api.certificate_helpers import make_ca, pem

from strongroom.api.certificate_schemas import ExtKeyUsage, KeyUsage
from strongroom.errors import StrongroomError
from strongroom.pki.der_guard import MAX_ROUNDS, TooManyRounds
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


def _self_signed(key: Any) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k")])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(255)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
    )
    return builder.sign(
        key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    )


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        (rsa.generate_private_key(65537, 2048), ("rsa", 2048)),
        (ec.generate_private_key(ec.SECP384R1()), ("ec", 384)),
        (ed25519.Ed25519PrivateKey.generate(), ("ed25519", 256)),
    ],
)
def test_key_algorithm_and_size(key: Any, kind: tuple[str, int]) -> None:
    f = facts_of(_self_signed(key))
    assert (f.key_algorithm, f.key_size) == kind
    assert f.serial == "ff" and f.subject == f.issuer == "CN=k"


def test_an_encrypted_pem_key_needs_its_password() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _self_signed(key)
    locked = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"right-password"),
    )
    data = cert.public_bytes(serialization.Encoding.PEM) + locked
    for password in (None, b"wrong-password"):
        with pytest.raises(BadPassword):
            parse_pem(data, password, 1 << 16)
    assert parse_pem(data, b"right-password", 1 << 16).key is not None


@pytest.mark.parametrize(
    "data",
    [
        b"-----BEGIN A-----\n" * 14000,  # many blocks that never end
        b"-----BEGIN CERTIFICATE-----\n" + b"A" * 250_000,
        (b"-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n") * 5000,
    ],
)
def test_pathological_pem_is_refused_fast(data: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises((BadCertificate, BundleTooLarge)):
        parse_pem(data, None, 262144)
    assert time.perf_counter() - started < 0.5  # linear: a regex took 17 s on the first


def test_a_pkcs12_asking_for_too_many_rounds_is_refused_before_any_work() -> None:
    enc = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(MAX_ROUNDS + 1)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(b"pw")
    )
    data = pkcs12.serialize_key_and_certificates(b"n", CA.key, CA.cert, None, enc)
    started = time.perf_counter()
    with pytest.raises(TooManyRounds):
        parse_pkcs12(data, b"pw", 1 << 16)
    assert time.perf_counter() - started < 0.05
    ok = pkcs12.serialize_key_and_certificates(
        b"n", CA.key, CA.cert, None, serialization.BestAvailableEncryption(b"pw")
    )
    assert parse_pkcs12(ok, b"pw", 1 << 16).key is not None


def test_an_encrypted_pem_key_asking_for_too_many_rounds_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    key.write_bytes(
        CA.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    out = tmp_path / "k8.pem"
    subprocess.run(
        [
            *("openssl", "pkcs8", "-topk8", "-in", str(key), "-out", str(out)),
            *("-passout", "pass:pw", "-iter", str(MAX_ROUNDS + 1), "-v2", "aes-256-cbc"),
        ],
        check=True,
    )
    with pytest.raises(TooManyRounds):
        parse_pem(pem(CA.cert).encode() + out.read_bytes(), b"pw", 1 << 16)


def test_identifiers_wider_than_their_columns_are_refused() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wide")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier(b"k" * 65), critical=False)
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(BadCertificate):
        facts_of(cert)

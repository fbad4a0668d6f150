"""The key statement encoder against docs/key-statement.md's test vector, and the
blind index derivation's separation properties."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from strongroom.crypto.codec import b64url
from strongroom.keys.blind_index import field_key, normalise, secret_name, tokens
from strongroom.keys.statement import StatementFields, service_key_id

DOC = (Path(__file__).parents[3] / "docs" / "key-statement.md").read_text()


def test_statement_encoding_matches_the_documented_vector() -> None:
    signer = Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32)
    raw = signer.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    fields = StatementFields(
        service_key_id=service_key_id(raw),
        tenant="default",
        user_id="alice",
        version=3,
        key_type="x25519-hpke",
        public_key=bytes([9]) * 32,
        ciphertext_prefix="sr",
        not_before=1767225600,
        not_after=1767229200,
    )
    statement = fields.encode()
    assert f"statement (base64url) = {b64url(statement)}" in DOC
    assert f"signature (base64url) = {b64url(signer.sign(statement))}" in DOC
    assert f"`keyId` `{fields.service_key_id}`" in DOC


SECRET = bytes(range(32))


def test_blind_index_keys_separate_users_fields_and_options() -> None:
    keys = {
        field_key(SECRET, "alice", "email", [], 32),
        field_key(SECRET, "bob", "email", [], 32),
        field_key(SECRET, "", "email", [], 32),  # the tenant-wide index
        field_key(SECRET, "alice", "phone", [], 32),
        field_key(SECRET, "alice", "email", ["case"], 32),
        field_key(SECRET, "alice", "email", [], 16),
        field_key(bytes(32), "alice", "email", [], 32),  # another tenant's secret
    }
    assert len(keys) == 7
    # The order a request names normalisations in does not matter.
    assert field_key(SECRET, "a", "f", ["case", "digits"], 8) == field_key(
        SECRET, "a", "f", ["digits", "case"], 8
    )
    assert len(secret_name("t" * 64)) <= 64  # fits service_keys.name


def test_normalisations() -> None:
    assert normalise("  Alice\t SMITH ", ["whitespace", "case"]) == "alice smith"
    assert normalise("+1 (555) 010-9999", ["digits"]) == "15550109999"
    assert normalise("Stra\u00dfe", ["case"]) == normalise("STRASSE", ["case"])
    assert normalise("e\u0301", []) == "\u00e9"  # NFC always


@given(st.lists(st.text(max_size=20), min_size=1, max_size=30))
def test_tokens_are_equal_exactly_when_normalised_inputs_are(values: list[str]) -> None:
    flags = ["case", "whitespace"]
    key = field_key(SECRET, "alice", "name", flags, 32)
    normal = [normalise(v, flags) for v in values]
    out = tokens(key, [n.encode("utf-8", "surrogatepass") for n in normal], 32)
    for i in range(len(values)):
        for j in range(len(values)):
            assert (out[i] == out[j]) == (normal[i] == normal[j])

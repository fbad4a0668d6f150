"""crypto.sizes: the exact text length per suite, checked against real ciphertexts."""

from __future__ import annotations

import pytest
from tests.unit.crypto.test_envelope import seal_texts

from strongroom.crypto import codec
from strongroom.crypto.binding import Binding
from strongroom.crypto.sizes import b64url_length, max_text_length, payload_length, text_length
from strongroom.crypto.suites import SuiteId

# Payload length at n = 0, from docs/ciphertext.md (63 + H).
MINIMUM = {
    SuiteId.X25519_HPKE: 143,
    SuiteId.P256_HPKE: 176,
    SuiteId.MLKEM768_X25519_HPKE: 1231,
    SuiteId.AES256_GCM: 95,
}
# The largest plaintext whose text fits in 65536 characters at version 1, as an
# independent implementation of the format measured it (issue #15, item 13).
FITS_64K = {
    SuiteId.X25519_HPKE: 49004,
    SuiteId.P256_HPKE: 48971,
    SuiteId.MLKEM768_X25519_HPKE: 47916,
    SuiteId.AES256_GCM: 49052,
}


@pytest.mark.parametrize("suite", list(SuiteId))
def test_payload_minimum_matches_the_format(suite: SuiteId) -> None:
    assert payload_length(suite, 0) == MINIMUM[suite]


@pytest.mark.parametrize("n", range(12))
def test_b64url_length_matches_the_encoder(n: int) -> None:
    assert b64url_length(n) == len(codec.b64url(bytes(n)))


@pytest.mark.parametrize("suite", list(SuiteId))
@pytest.mark.parametrize("version", [1, 9, 10, 4294967295])
@pytest.mark.parametrize("prefix", ["sr", "acme2"])
def test_text_length_matches_real_ciphertexts(suite: SuiteId, version: int, prefix: str) -> None:
    sizes = [0, 1, 2, 3, 4, 100, 4097]
    binding = Binding(suite, "tenant-a", "user-1", version, "ctx")
    texts = seal_texts(binding, [b"x" * n for n in sizes])
    texts = [prefix + t.removeprefix("sr") for t in texts]
    assert [len(t) for t in texts] == [text_length(prefix, version, suite, n) for n in sizes]
    assert all(len(t) <= max_text_length(prefix, suite, n) for t, n in zip(texts, sizes))


@pytest.mark.parametrize("suite", list(SuiteId))
def test_the_old_single_limit_lost_items_of_these_sizes(suite: SuiteId) -> None:
    n = FITS_64K[suite]
    assert text_length("sr", 1, suite, n) <= 65536 < text_length("sr", 1, suite, n + 1)
    assert max_text_length("sr", suite, 65536) > 65536


def test_max_text_length_counts_the_widest_version() -> None:
    suite = SuiteId.X25519_HPKE
    widest = text_length("sr", 4294967295, suite, 10)
    assert max_text_length("sr", suite, 10) == widest == text_length("sr", 1, suite, 10) + 9

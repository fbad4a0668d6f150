"""The Redis metadata value (keys/shared_cache.py): lossless round trip, JSON only."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.keys.models import KeyInfo, KeyState, VersionInfo, VersionState
from strongroom.keys.shared_cache import decode_info, encode_info, redis_key

times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
versions = st.builds(
    VersionInfo,
    version=st.integers(1, 10_000),
    state=st.sampled_from(VersionState),
    created_at=times,
    destroyed_at=st.none() | times,
    public_key=st.none() | st.binary(max_size=1300),
)
infos = st.builds(
    KeyInfo,
    key_id=st.integers(1, 2**62),
    tenant=st.text(min_size=1, max_size=64),
    user_id=st.text(min_size=1, max_size=200),
    key_type=st.sampled_from(["x25519-hpke", "p256-hpke", "mlkem768-x25519-hpke", "aes256-gcm"]),
    state=st.sampled_from(KeyState),
    current_version=st.integers(1, 10_000),
    min_decryption_version=st.integers(1, 10_000),
    rotation_period_days=st.integers(1, 3650),
    deletion_date=st.none() | times,
    generation=st.integers(1, 2**62),
    created_at=times,
    updated_at=times,
    last_rotated_at=times,
    versions=st.lists(versions, max_size=4).map(tuple),
)


@given(infos)
def test_round_trip(info: KeyInfo) -> None:
    data = encode_info(info)
    assert decode_info(data) == info
    assert json.loads(data)["v"] == 1


def test_vector() -> None:
    t = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    info = KeyInfo(
        7,
        "default",
        "alice",
        "x25519-hpke",
        KeyState.ENABLED,
        2,
        1,
        90,
        None,
        5,
        t,
        t,
        t,
        (VersionInfo(1, VersionState.ACTIVE, t, None, b"\x00\xff"),),
    )
    assert json.loads(encode_info(info))["info"]["versions"][0]["public_key"] == "AP8="
    assert json.loads(encode_info(info))["info"]["created_at"] == "2026-01-02T03:04:05+00:00"


@pytest.mark.parametrize("bad", [b"", b"{}", b'{"v":1}', b"\x80\x04pickle", b'{"info":{}}'])
def test_garbage_is_rejected_not_executed(bad: bytes) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        decode_info(bad)


def test_key_is_hashed_and_separates_tenant_from_user() -> None:
    assert redis_key(("a:b", "c")) != redis_key(("a", "b:c"))
    assert "alice" not in redis_key(("default", "alice"))

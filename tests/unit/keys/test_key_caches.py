"""KeyCaches: per-user invalidation, TTL expiry and disabling by size/TTL 0."""

from __future__ import annotations

import os
import time
from collections.abc import Hashable, Iterator
from datetime import UTC, datetime

import pytest

from strongroom import caching
from strongroom.crypto.binding import Binding
from strongroom.crypto.envelope import DataKey
from strongroom.crypto.suites import SuiteId
from strongroom.keys.cache import KeyCaches
from strongroom.keys.models import KeyInfo, KeyState, VersionInfo, VersionState

NOW = datetime(2025, 1, 1, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    fake = FakeClock()
    # KeyCaches reads time.monotonic when it builds its TTL caches.
    monkeypatch.setattr(time, "monotonic", fake)
    yield fake


def info(tenant: str, user: str, version: int = 1) -> KeyInfo:
    return KeyInfo(
        key_id=1,
        tenant=tenant,
        user_id=user,
        key_type="x25519-hpke",
        state=KeyState.ENABLED,
        current_version=version,
        min_decryption_version=1,
        rotation_period_days=90,
        deletion_date=None,
        generation=1,
        created_at=NOW,
        updated_at=NOW,
        last_rotated_at=NOW,
        versions=(VersionInfo(version, VersionState.ACTIVE, NOW, None, b"p" * 32),),
    )


def data_key(tenant: str, user: str, version: int) -> DataKey:
    binding = Binding(SuiteId.X25519_HPKE, tenant, user, version)
    return DataKey(os.urandom(32), binding, b"h" * 80)


def caches(
    *,
    metadata_ttl: float = 60.0,
    private_size: int = 100,
    private_ttl: float = 900.0,
    data_key_size: int = 100,
) -> KeyCaches:
    return KeyCaches(
        metadata_ttl=metadata_ttl,
        private_size=private_size,
        private_ttl=private_ttl,
        data_key_size=data_key_size,
    )


def fill(c: KeyCaches, tenant: str, user: str) -> tuple[list[object], list[Hashable]]:
    """Cache metadata, two private keys and two data keys for one user."""
    c.put_info(info(tenant, user, 2), c.token())
    private = [object(), object()]
    ids: list[Hashable] = []
    for version, key in ((1, private[0]), (2, private[1])):
        c.put_private((tenant, user), version, key, c.token())
        kid = c.data_key_id((tenant, user), version, f"hdr{version}".encode(), "ctx")
        c.put_data_key(kid, data_key(tenant, user, version), c.token())
        ids.append(kid)
    return private, ids


def held(c: KeyCaches, tenant: str, user: str, ids: list[Hashable]) -> tuple[bool, ...]:
    ref = (tenant, user)
    return (
        c.get_info(ref) is not None,
        c.get_private(ref, 1) is not None,
        c.get_private(ref, 2) is not None,
        *(c.get_data_key(k) is not None for k in ids),
    )


ALL = (True,) * 5
NONE = (False,) * 5


def test_put_and_get() -> None:
    c = caches()
    private, ids = fill(c, "t1", "u1")
    got = c.get_info(("t1", "u1"))
    assert got is not None and (got.tenant, got.user_id, got.current_version) == ("t1", "u1", 2)
    assert c.get_private(("t1", "u1"), 1) is private[0]
    assert c.get_private(("t1", "u1"), 2) is private[1]
    assert c.get_private(("t1", "u1"), 3) is None
    assert c.get_private(("t2", "u1"), 1) is None
    dk = c.get_data_key(ids[1])
    assert dk is not None and dk.header == b"h" * 80
    assert c.get_data_key(c.data_key_id(("t1", "u1"), 2, b"other", "ctx")) is None


def test_data_key_id_separates_every_component() -> None:
    base = KeyCaches.data_key_id(("t", "u"), 1, b"header", "ctx")
    others = [
        KeyCaches.data_key_id(("t2", "u"), 1, b"header", "ctx"),
        KeyCaches.data_key_id(("t", "u2"), 1, b"header", "ctx"),
        KeyCaches.data_key_id(("t", "u"), 2, b"header", "ctx"),
        KeyCaches.data_key_id(("t", "u"), 1, b"headeR", "ctx"),
        KeyCaches.data_key_id(("t", "u"), 1, b"header", "ctx2"),
    ]
    assert base == KeyCaches.data_key_id(("t", "u"), 1, b"header", "ctx")
    assert all(o != base for o in others)
    assert b"header" not in repr(base).encode()  # the header is stored only as a hash


def test_drop_user_forgets_only_that_tenant_and_user() -> None:
    c = caches()
    _, mine = fill(c, "t1", "u1")
    _, other_tenant = fill(c, "t2", "u1")  # same userId, another tenant
    _, other_user = fill(c, "t1", "u2")
    _, prefix_user = fill(c, "t1", "u1x")
    assert held(c, "t1", "u1", mine) == ALL

    c.drop_user(("t1", "u1"))

    assert held(c, "t1", "u1", mine) == NONE
    assert held(c, "t2", "u1", other_tenant) == ALL
    assert held(c, "t1", "u2", other_user) == ALL
    assert held(c, "t1", "u1x", prefix_user) == ALL


def test_drop_user_does_not_confuse_tenant_and_user() -> None:
    c = caches()
    _, swapped = fill(c, "u1", "t1")
    c.drop_user(("t1", "u1"))
    assert held(c, "u1", "t1", swapped) == ALL


def test_drop_unknown_user_is_harmless() -> None:
    c = caches()
    _, ids = fill(c, "t1", "u1")
    c.drop_user(("t9", "u9"))
    assert held(c, "t1", "u1", ids) == ALL


def test_clear_forgets_everything() -> None:
    c = caches()
    _, ids = fill(c, "t1", "u1")
    c.put_public(("t1", "u1"), 1, "pub")
    c.clear()
    assert held(c, "t1", "u1", ids) == NONE
    assert c.get_public(("t1", "u1"), 1) is None


def test_metadata_expires_after_its_ttl(clock: FakeClock) -> None:
    c = caches(metadata_ttl=1.0, private_ttl=900.0)
    _, ids = fill(c, "t1", "u1")
    clock.advance(0.9)
    assert c.get_info(("t1", "u1")) is not None
    clock.advance(0.2)
    assert c.get_info(("t1", "u1")) is None
    # Secret entries follow their own, longer TTL.
    assert held(c, "t1", "u1", ids)[1:] == (True,) * 4


def test_private_and_data_keys_expire_after_their_ttl(clock: FakeClock) -> None:
    c = caches(metadata_ttl=3600.0, private_ttl=900.0)
    _, ids = fill(c, "t1", "u1")
    clock.advance(899.0)
    assert held(c, "t1", "u1", ids) == ALL
    clock.advance(2.0)
    assert held(c, "t1", "u1", ids) == (True, False, False, False, False)


def test_ttl_counts_from_insertion_not_from_last_read(clock: FakeClock) -> None:
    c = caches(private_ttl=10.0)
    c.put_private(("t", "u"), 1, "k", c.token())
    for _ in range(5):
        clock.advance(3.0)
        c.get_private(("t", "u"), 1)
    assert c.get_private(("t", "u"), 1) is None


def test_private_cache_is_bounded_lru() -> None:
    c = caches(private_size=2)
    c.put_private(("t", "a"), 1, "ka", c.token())
    c.put_private(("t", "b"), 1, "kb", c.token())
    assert c.get_private(("t", "a"), 1) == "ka"  # a is now most recently used
    c.put_private(("t", "c"), 1, "kc", c.token())
    assert c.get_private(("t", "b"), 1) is None
    assert c.get_private(("t", "a"), 1) == "ka"
    assert c.get_private(("t", "c"), 1) == "kc"


def test_private_size_zero_disables_private_key_caching() -> None:
    c = caches(private_size=0)
    c.put_private(("t1", "u1"), 1, object(), c.token())
    assert c.get_private(("t1", "u1"), 1) is None
    # The other caches are independent of it.
    c.put_info(info("t1", "u1"), c.token())
    assert c.get_info(("t1", "u1")) is not None
    kid = c.data_key_id(("t1", "u1"), 1, b"h", "")
    c.put_data_key(kid, data_key("t1", "u1", 1), c.token())
    assert c.get_data_key(kid) is not None


def test_data_key_size_zero_disables_data_key_caching() -> None:
    c = caches(data_key_size=0)
    kid = c.data_key_id(("t1", "u1"), 1, b"h", "")
    c.put_data_key(kid, data_key("t1", "u1", 1), c.token())
    assert c.get_data_key(kid) is None
    c.put_private(("t1", "u1"), 1, "k", c.token())
    assert c.get_private(("t1", "u1"), 1) == "k"


def test_metadata_ttl_zero_disables_metadata_caching() -> None:
    c = caches(metadata_ttl=0)
    c.put_info(info("t1", "u1"), c.token())
    assert c.get_info(("t1", "u1")) is None


def test_private_ttl_zero_never_keeps_private_keys_forever(clock: FakeClock) -> None:
    """TTL 0 must not mean "cache unwrapped private keys forever".

    ``metadata_ttl=0`` disables the metadata cache; ``private_ttl=0`` (allowed by
    settings: ``private_key_cache_ttl_seconds`` ge=0) instead builds a plain LRU
    with no expiry, so an operator asking for the least caching gets the most.
    """
    c = caches(private_ttl=0)
    c.put_private(("t1", "u1"), 1, "k", c.token())
    kid = c.data_key_id(("t1", "u1"), 1, b"h", "")
    c.put_data_key(kid, data_key("t1", "u1", 1), c.token())
    clock.advance(30 * 24 * 3600.0)
    assert c.get_private(("t1", "u1"), 1) is None
    assert c.get_data_key(kid) is None


def test_a_load_in_flight_during_a_drop_is_not_cached() -> None:
    """An unwrap that started before a deletion or rotation finishes after the cache
    dropped the user: its result is returned to its caller but never cached."""
    c = caches()
    token = c.token()  # load starts
    c.drop_user(("t1", "u1"))  # deletion lands meanwhile
    c.put_private(("t1", "u1"), 1, "key", token)
    c.put_info(info("t1", "u1"), token)
    kid = c.data_key_id(("t1", "u1"), 1, b"h", "")
    c.put_data_key(kid, data_key("t1", "u1", 1), token)
    assert c.get_private(("t1", "u1"), 1) is None
    assert c.get_info(("t1", "u1")) is None
    assert c.get_data_key(kid) is None
    c.put_private(("t1", "u2"), 1, "other", token)  # other users are unaffected
    assert c.get_private(("t1", "u2"), 1) == "other"
    c.put_private(("t1", "u1"), 1, "key", c.token())  # a load started after the drop
    assert c.get_private(("t1", "u1"), 1) == "key"


def test_forgetting_drop_marks_refuses_older_loads() -> None:
    c = caches()
    token = c.token()
    for i in range(caching._MAX_MARKS + 1):
        c.drop_user(("t", str(i)))
    c.put_private(("t", "never-dropped"), 1, "k", token)
    assert c.get_private(("t", "never-dropped"), 1) is None

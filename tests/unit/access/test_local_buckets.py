"""The in-process rate-limit buckets (no Redis) stay bounded without forgetting a
spent bucket: spraying new keys evicts the least recently used, never everyone."""

from __future__ import annotations

from strongroom.access.ratelimit import LocalBuckets


async def test_a_spent_bucket_stays_spent_when_other_keys_fill_past_the_bound() -> None:
    buckets = LocalBuckets(max_keys=100)
    for _ in range(3):
        assert (await buckets.take("attacker", 3, 3 / 60, 1))[0] == 0
    assert (await buckets.take("attacker", 3, 3 / 60, 0))[0] > 0
    for i in range(250):  # rotating addresses: each is a new key
        await buckets.take(f"spray-{i}", 3, 3 / 60, 1)
        if i % 50 == 0:  # the attacker keeps trying, so its bucket stays recent
            assert (await buckets.take("attacker", 3, 3 / 60, 0))[0] > 0
    wait, left = await buckets.take("attacker", 3, 3 / 60, 0)
    assert wait > 0 and left < 1
    assert len(buckets._buckets) == 100


async def test_the_least_recently_used_bucket_is_the_one_evicted() -> None:
    buckets = LocalBuckets(max_keys=3)
    for key in ("a", "b", "c"):
        await buckets.take(key, 1, 1 / 60, 1)
    await buckets.take("a", 1, 1 / 60, 0)  # refused, but used: "b" is now the oldest
    await buckets.take("d", 1, 1 / 60, 1)
    assert list(buckets._buckets) == ["c", "a", "d"]
    assert (await buckets.take("a", 1, 1 / 60, 0))[0] > 0  # still spent
    assert (await buckets.take("b", 1, 1 / 60, 0))[0] == 0  # forgotten: full again


async def test_distinct_sets_are_bounded_the_same_way() -> None:
    buckets = LocalBuckets(max_keys=10)
    assert await buckets.distinct("principal", "u1", 1, 60)
    assert not await buckets.distinct("principal", "u2", 1, 60)
    for i in range(30):
        await buckets.distinct(f"other-{i}", "u", 1, 60)
        assert not await buckets.distinct("principal", f"u{i + 2}", 1, 60)
    assert not await buckets.distinct("principal", "u2", 1, 60)
    assert len(buckets._sets) == 10

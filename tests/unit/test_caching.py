"""The single-flight cache (strongroom/caching.py): loads are held on Events and time is
an injected clock, so nothing here depends on how fast the machine is."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from strongroom.caching import DropMarks, SingleFlight


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Loader:
    """Counts loads; each load waits for ``release`` and returns the next value."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()
        self.fail: Exception | None = None
        self.started = asyncio.Event()

    async def __call__(self) -> int:
        self.calls += 1
        mine = self.calls
        self.started.set()
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return mine

    def hold(self) -> None:
        self.release.clear()
        self.started.clear()


def cache(clock: Clock, **kw: object) -> SingleFlight[str, int]:
    return SingleFlight(ttl=10.0, maxsize=100, clock=clock, **kw)  # type: ignore[arg-type]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def many(n: int, call: Callable[[], Coroutine[Any, Any, int]]) -> list[asyncio.Task[int]]:
    tasks = [asyncio.create_task(call()) for _ in range(n)]
    await settle()
    return tasks


async def test_a_hundred_concurrent_misses_cause_one_load() -> None:
    clock, load = Clock(), Loader()
    c = cache(clock)
    load.hold()
    tasks = await many(100, lambda: c.get("k", load))
    load.release.set()
    assert await asyncio.gather(*tasks) == [1] * 100
    assert load.calls == 1
    assert await c.get("k", load) == 1 and load.calls == 1  # now cached


async def test_a_failed_load_reaches_every_waiter_and_is_not_cached() -> None:
    clock, load = Clock(), Loader()
    c = cache(clock)
    load.hold()
    load.fail = RuntimeError("db down")
    tasks = await many(20, lambda: c.get("k", load))
    load.release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert load.calls == 1
    load.fail = None
    assert await c.get("k", load) == 2  # the next caller loads again


async def test_refresh_ahead_serves_the_old_value_and_loads_once_in_background() -> None:
    clock, load = Clock(), Loader()
    c = cache(clock, refresh_ahead=0.8)
    assert await c.get("k", load) == 1
    clock.now += 8.5  # past 80% of the ttl, before the ttl
    load.hold()
    served = [await c.get("k", load) for _ in range(50)]
    assert served == [1] * 50  # no caller waited
    await settle()
    assert load.calls == 2  # one background refresh, not fifty
    load.release.set()
    await settle()
    assert await c.get("k", load) == 2 and load.calls == 2


async def test_a_failed_refresh_keeps_serving_until_the_ttl() -> None:
    clock, load = Clock(), Loader()
    c = cache(clock)
    await c.get("k", load)
    clock.now += 9
    load.fail = RuntimeError("x")
    assert await c.get("k", load) == 1
    await settle()
    assert await c.get("k", load) == 1  # refresh failed: the entry still serves
    clock.now += 1  # the ttl since its load started
    with pytest.raises(RuntimeError):
        await c.get("k", load)


async def test_past_the_ttl_callers_wait_for_a_fresh_load() -> None:
    clock, load = Clock(), Loader()
    c = cache(clock)
    await c.get("k", load)
    clock.now += 10
    load.hold()
    waiter = asyncio.create_task(c.get("k", load))
    await settle()
    assert not waiter.done()
    load.release.set()
    assert await waiter == 2


async def test_the_ttl_counts_from_when_the_load_started() -> None:
    clock, load = Clock(), Loader()
    c = cache(clock)
    load.hold()
    first = asyncio.create_task(c.get("k", load))
    await settle()
    clock.now += 6  # the load takes 6 s
    load.release.set()
    assert await first == 1
    clock.now += 4  # 10 s after the load started, 4 s after it ended
    load.hold()
    later = asyncio.create_task(c.get("k", load))
    await settle()
    assert not later.done() and load.calls == 2


async def test_forget_during_a_load_keeps_its_result_out_of_the_cache() -> None:
    clock, load = Clock(), Loader()
    c = cache(clock)
    load.hold()
    before = asyncio.create_task(c.get("k", load))
    await settle()
    c.forget("k")
    after = asyncio.create_task(c.get("k", load))  # arrived after the drop: a new load
    await settle()
    assert load.calls == 2
    load.release.set()
    assert await before == 1
    assert await after == 2
    assert await c.get("k", load) == 2  # only the load started after the drop is kept
    assert load.calls == 2


async def test_forget_drops_loads_that_finish_after_the_mark_even_if_nobody_waits() -> None:
    clock, load = Clock(), Loader()
    c = cache(clock)
    load.hold()
    task = asyncio.create_task(c.get("k", load))
    await settle()
    c.forget("k")
    load.release.set()
    assert await task == 1
    assert c.peek("k") is None


async def test_a_cancelled_waiter_does_not_cancel_the_shared_load() -> None:
    clock, load = Clock(), Loader()
    c = cache(clock)
    load.hold()
    first = asyncio.create_task(c.get("k", load))
    second = asyncio.create_task(c.get("k", load))
    await settle()
    first.cancel()
    await settle()
    load.release.set()
    assert await second == 1
    assert first.cancelled() and load.calls == 1
    assert c.peek("k") == 1


async def test_fresh_callers_do_not_take_an_older_value_but_share_one_queued_load() -> None:
    clock, load = Clock(), Loader()
    c = cache(clock)
    await c.get("k", load)
    load.hold()
    running = asyncio.create_task(c.get("k", load, fresh=True))
    await settle()
    clock.now += 1  # these arrive after the running load started
    later = await many(30, lambda: c.get("k", load, fresh=True))
    assert load.calls == 2  # the queued load has not started yet
    load.release.set()
    assert await running == 2
    assert await asyncio.gather(*later) == [3] * 30
    assert load.calls == 3


async def test_max_age_narrows_the_ttl_for_one_call() -> None:
    clock, load = Clock(), Loader()
    c = cache(clock)
    await c.get("k", load)
    clock.now += 3
    assert await c.get("k", load, max_age=5) == 1
    assert await c.get("k", load, max_age=2) == 2


async def test_size_is_bounded_least_recently_used_out() -> None:
    clock, load = Clock(), Loader()
    c: SingleFlight[str, int] = SingleFlight(ttl=10, maxsize=2, clock=clock)
    for key in ("a", "b"):
        await c.get(key, load)
    await c.get("a", load)  # a is now the most recent
    await c.get("c", load)
    assert c.peek("b") is None and c.peek("a") is not None and len(c) == 2


async def test_groups_share_drop_marks_across_caches() -> None:
    clock, load = Clock(), Loader()
    marks = DropMarks()

    def group(key: tuple[str, int]) -> str:
        return key[0]

    one: SingleFlight[tuple[str, int], int] = SingleFlight(
        ttl=10, maxsize=10, clock=clock, marks=marks, group=group
    )
    await one.get(("u", 1), load)
    await one.get(("u", 2), load)
    await one.get(("v", 1), load)
    marks.mark("u")
    one.drop_group_entries("u")
    assert one.peek(("u", 1)) is None and one.peek(("u", 2)) is None
    assert one.peek(("v", 1)) is not None


async def test_keep_decides_what_is_stored_and_run_stores_nothing() -> None:
    clock, load = Clock(), Loader()
    c = cache(clock, keep=lambda v: v > 1)
    assert await c.get("k", load) == 1
    assert c.peek("k") is None
    assert await c.get("k", load) == 2 and c.peek("k") == 2
    load.hold()
    runs = await many(10, lambda: c.run("r", load))
    load.release.set()
    assert set(await asyncio.gather(*runs)) == {3} and load.calls == 3
    assert c.peek("r") is None

"""The change feed polls from a thread of its own, with its own connection, so a
saturated request loop cannot starve it (issue #14); the drops it finds are applied
on the request loop, and shutdown joins the thread. Each test runs on SQLite and on
PostgreSQL (two Services on one database, as in test_key_feed.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable

import pytest

from strongroom.keys.models import RotationReason
from strongroom.services.container import Services
from tests.integration.test_key_feed import ACTOR, replicas, version_of  # noqa: F401

UNTIL = 20.0  # a cap for waits that pass as soon as their condition holds


@pytest.fixture
async def running(
    replicas: tuple[Services, Services],  # noqa: F811
) -> AsyncIterator[tuple[Services, Services]]:
    """Replica b with its feed running (as the app's lifespan runs it)."""
    a, b = replicas
    task = asyncio.create_task(b.feed.run())
    await until(lambda: b.feed.polls >= 1)
    assert b.feed.thread is not None and b.feed.thread.is_alive()
    yield a, b
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not b.feed.thread.is_alive()  # joined: no thread outlives the feed


async def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + UNTIL
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.01)


def busy(seconds: float) -> None:
    """Hold the event loop (and compete for the GIL) like CPU-bound request work."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def test_the_feed_reads_while_the_request_loop_is_blocked(
    running: tuple[Services, Services],
) -> None:
    _, b = running
    reads, polls = b.feed.reads, b.feed.polls
    deadline = time.monotonic() + UNTIL
    # The loop does not yield at all here: only a thread of its own can read.
    while b.feed.reads < reads + 2 and time.monotonic() < deadline:
        busy(0.01)
    assert b.feed.reads >= reads + 2
    assert b.feed.polls == polls  # nothing applied behind the request loop's back
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert b.feed.polls >= polls + 2 and b.feed.trusted()


async def test_the_feed_stays_trusted_under_a_saturated_loop(
    running: tuple[Services, Services],
) -> None:
    _, b = running
    polls = b.feed.polls
    trusted: list[bool] = []

    async def hog() -> None:
        for _ in range(40):  # 2 s in 50 ms slices
            busy(0.05)
            trusted.append(b.feed.trusted())
            await asyncio.sleep(0)

    await asyncio.gather(*(hog() for _ in range(4)))
    assert len(trusted) == 160 and all(trusted)
    assert b.feed.polls >= polls + 2


async def test_a_rotation_elsewhere_is_dropped_on_the_request_loop(
    running: tuple[Services, Services],
) -> None:
    a, b = running
    await a.keys.create(ACTOR, "t", None, None)
    await until(lambda: b.feed.seen_generation(("default", "t")) is not None)
    assert version_of(await b.keys.encrypt(ACTOR, "t", ["x"], None)) == {"v1"}  # cached
    caches = b.keys.core.caches
    drop, dropped_on = caches.drop_user, []

    def recorded(ref: tuple[str, str]) -> None:
        dropped_on.append(threading.get_ident())
        drop(ref)

    caches.drop_user = recorded  # type: ignore[method-assign]
    await a.rotation.rotate(ACTOR, "t", [], RotationReason.ON_DEMAND, None)
    await until(lambda: bool(dropped_on))
    assert set(dropped_on) == {threading.get_ident()}
    assert version_of(await b.keys.encrypt(ACTOR, "t", ["x"], None)) == {"v2"}

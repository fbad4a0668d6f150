"""Admission control (api/admission.py): bounded in-flight work, a bounded FIFO queue,
shedding at once past both. Deterministic: held requests wait on events, never on time
(the one wait that must run out is 1 ms long and nothing can end it sooner)."""

from __future__ import annotations

import asyncio

from strongroom.api.admission import Admission


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_slots_then_queue_then_shed_at_once() -> None:
    adm = Admission(max_in_flight=2, max_queue=2, max_queue_wait=60)
    assert await adm.enter() is None
    assert await adm.enter() is None
    waiting = [asyncio.create_task(adm.enter()) for _ in range(2)]
    await _settle()
    assert (adm.running, adm.queued) == (2, 2)
    assert not any(t.done() for t in waiting)
    assert await adm.enter() == "queue_full"  # answered without waiting
    adm.leave()
    await _settle()
    assert waiting[0].done() and waiting[0].result() is None
    assert not waiting[1].done()
    assert (adm.running, adm.queued) == (2, 1)
    adm.leave()
    await _settle()
    assert waiting[1].result() is None
    for _ in range(2):
        adm.leave()
    assert (adm.running, adm.queued) == (0, 0)


async def test_slots_go_to_waiters_in_arrival_order() -> None:
    adm = Admission(max_in_flight=1, max_queue=10, max_queue_wait=60)
    await adm.enter()
    order: list[int] = []

    async def waiter(i: int) -> None:
        await adm.enter()
        order.append(i)

    tasks = [asyncio.create_task(waiter(i)) for i in range(5)]
    await _settle()
    for _ in range(5):
        adm.leave()
        await _settle()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]


async def test_a_request_that_waits_too_long_is_shed_and_frees_its_place() -> None:
    adm = Admission(max_in_flight=1, max_queue=1, max_queue_wait=0.001)
    await adm.enter()
    assert await adm.enter() == "queue_timeout"
    assert adm.queued == 0
    adm.leave()  # nobody waits any more: the slot is free again
    assert adm.running == 0
    assert await adm.enter() is None


async def test_a_cancelled_waiter_leaves_no_trace() -> None:
    adm = Admission(max_in_flight=1, max_queue=1, max_queue_wait=60)
    await adm.enter()
    gone = asyncio.create_task(adm.enter())
    await _settle()
    gone.cancel()
    await _settle()
    assert gone.cancelled() and adm.queued == 0
    later = asyncio.create_task(adm.enter())  # the queue has room again
    await _settle()
    assert adm.queued == 1
    adm.leave()
    await _settle()
    assert later.result() is None and adm.running == 1


async def test_a_slot_handed_to_a_waiter_cancelled_meanwhile_is_not_lost() -> None:
    adm = Admission(max_in_flight=1, max_queue=2, max_queue_wait=60)
    await adm.enter()
    first = asyncio.create_task(adm.enter())
    second = asyncio.create_task(adm.enter())
    await _settle()
    adm.leave()  # the slot goes to `first` ...
    first.cancel()  # ... which is cancelled before it resumes
    await _settle()
    if not first.cancelled():  # it kept the slot (the cancellation came too late) ...
        assert first.result() is None and not second.done()
        adm.leave()  # ... and gives it back when its request ends
        await _settle()
    assert second.result() is None  # either way the slot reaches the next waiter
    assert (adm.running, adm.queued) == (1, 0)

"""Group commit (audit/grouping.py ``GroupQueue._gather``): records of requests that become
runnable while a group is being gathered join it; a quiet event loop sends the group
at once; no group exceeds ``max_batch``; recent request ids are
remembered in a bounded FIFO."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from strongroom.audit import grouping
from strongroom.audit import service as audit_service
from strongroom.audit.actions import KeyAction
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.config import Settings
from strongroom.context import Actor
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import Services, build_services
from strongroom.store.audit_writes import PgGroupWriter, SqliteGroupWriter


class Spy:
    """Records each group's size on its way to the real writer."""

    def __init__(self, inner: SqliteGroupWriter | PgGroupWriter) -> None:
        self.inner = inner
        self.sizes: list[int] = []

    async def write(
        self, voids: list[dict[str, Any]], rows: list[dict[str, Any]], bodies: list[bytes]
    ) -> None:
        self.sizes.append(len(rows))
        await self.inner.write(voids, rows, bodies)

    async def close(self) -> None:
        await self.inner.close()


@pytest.fixture
async def svc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Services, Spy]]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}",
        master_key_file=tmp_path / "k",
        scheduler_enabled=False,
        audit_checkpoint_records=10_000,
    )
    create_master_key_file(settings.kms.master_key_file)
    services = build_services(settings)
    await services.start(migrate=True)
    spy = Spy(services.audit._group)
    monkeypatch.setattr(services.audit, "_group", spy)  # duck-typed, not a subclass
    try:
        yield services, spy
    finally:
        await services.close()


def ev(i: int) -> AuditEvent:
    return AuditEvent(Actor("ak_t", "default", f"r-{i}", None), KeyAction.ENCRYPT, Outcome.SUCCESS)


async def after_passes(services: Services, passes: int, i: int) -> None:
    for _ in range(passes):
        await asyncio.sleep(0)  # one event-loop pass each
    await services.audit.append(ev(i))


async def test_records_arriving_pass_after_pass_share_one_group(
    svc: tuple[Services, Spy],
) -> None:
    services, spy = svc
    # A busy process: a record every other pass of the loop (fewer quiet passes in a
    # row than end the wait), for as long as the wait may last.
    gap = grouping._QUIET_PASSES - 1
    n = grouping._GATHER_PASSES // gap - 1
    await asyncio.gather(*(after_passes(services, k * gap, k) for k in range(n)))
    assert spy.sizes == [n]


async def test_a_quiet_loop_sends_at_once(svc: tuple[Services, Spy]) -> None:
    services, spy = svc
    await services.audit.append(ev(0))
    assert spy.sizes == [1]
    # A record that arrives after enough quiet passes: a group of its own.
    late = grouping._QUIET_PASSES + 2
    await asyncio.gather(services.audit.append(ev(1)), after_passes(services, late, 2))
    assert spy.sizes == [1, 1, 1]


async def test_the_wait_is_bounded(svc: tuple[Services, Spy]) -> None:
    services, spy = svc
    # Records arriving at every pass, for three times as long as a group may wait:
    # the first group goes out after its last pass (one record per pass, plus the
    # one that started it); the rest follow.
    n = 3 * grouping._GATHER_PASSES
    await asyncio.gather(*(after_passes(services, k, k) for k in range(n)))
    assert spy.sizes[0] == grouping._GATHER_PASSES + 1
    assert len(spy.sizes) > 1 and sum(spy.sizes) == n


async def test_a_group_never_exceeds_max_batch(svc: tuple[Services, Spy]) -> None:
    services, spy = svc
    services.audit._queue.max_batch = 7
    await asyncio.gather(*(services.audit.append(ev(i)) for i in range(30)))
    assert sum(spy.sizes) == 30 and max(spy.sizes) == 7


async def test_recent_request_ids_are_remembered_oldest_first_out(
    svc: tuple[Services, Spy], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``recorded`` (api/deps.py asks it whether a request already left a record)
    remembers the last ``_RECENT`` request ids, evicting the oldest first."""
    services, _ = svc
    monkeypatch.setattr(audit_service, "_RECENT", 5)
    await asyncio.gather(*(services.audit.append(ev(i)) for i in range(8)))
    remembered = [i for i in range(8) if services.audit.recorded(f"r-{i}")]
    assert remembered == [3, 4, 5, 6, 7]

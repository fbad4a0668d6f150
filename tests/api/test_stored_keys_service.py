"""The stored-key services on SQLite and PostgreSQL, below the HTTP edge: the value is
sealed at rest, for_use hands it to the broker, revoke and block refuse it."""

from __future__ import annotations

import pytest

from strongroom.context import Actor
from strongroom.credentials.contract import (
    KeyDirectory,
    KeyState,
    TargetResolver,
    UsageSink,
    Use,
    UseKind,
)
from strongroom.credentials.errors import (
    ApiKeyBlocked,
    ApiKeyNotFound,
    ApiKeyRevoked,
    ProjectNotEmpty,
)
from strongroom.credentials.models import NewKey
from tests.api.conftest import App

VALUE = "sk-live-CANARY-7f3e9b1c2d"


def actor(tenant: str = "default") -> Actor:
    return Actor("tester", tenant, "req-1", "127.0.0.1")


async def test_create_use_rotate_revoke(app: App) -> None:
    svc, a = app.services, actor()
    await svc.projects.create(a, "billing")
    made = await svc.api_keys.create(
        a, "billing", NewKey("stripe", VALUE, "stripe", hosts=["api.stripe.com"])
    )
    assert made.state is KeyState.ACTIVE and made.version == 1
    target = await svc.api_key_use.for_use(a, "billing", "stripe")
    assert target.value == VALUE.encode() and target.previous is None
    assert VALUE not in repr(target)
    await svc.api_key_rotation.rotate(a, "billing", "stripe", "sk-live-NEW-123")
    target = await svc.api_key_use.for_use(a, "billing", "stripe")
    assert target.value == b"sk-live-NEW-123" and target.previous == VALUE.encode()
    with pytest.raises(ProjectNotEmpty):
        await svc.projects.delete(a, "billing")
    await svc.api_keys.block(a, "billing", "stripe", "looks odd")
    with pytest.raises(ApiKeyBlocked):
        await svc.api_key_use.for_use(a, "billing", "stripe")
    await svc.api_keys.unblock(a, "billing", "stripe")
    await svc.api_key_use.for_use(a, "billing", "stripe")
    await svc.api_keys.revoke(a, "billing", "stripe", None)
    with pytest.raises(ApiKeyRevoked):
        await svc.api_key_use.for_use(a, "billing", "stripe")
    with pytest.raises(ApiKeyNotFound):
        await svc.api_key_use.for_use(actor("other"), "billing", "stripe")


async def test_directory_blocks_as_the_system(app: App) -> None:
    svc, a = app.services, actor()
    await svc.projects.create(a, "ops")
    made = await svc.api_keys.create(a, "ops", NewKey("gh", VALUE, "github"))
    assert [k.name for k in await svc.key_directory.usable(a, lambda r: True)] == ["gh"]
    assert await svc.key_directory.usable(a, lambda r: False) == []
    await svc.key_directory.block("default", made.key_id, "anomaly: rate")
    described = await svc.key_directory.describe(a, "ops", "gh")
    assert described.state is KeyState.BLOCKED
    with pytest.raises(ApiKeyBlocked):
        await svc.api_key_use.for_use(a, "ops", "gh")


class Recorder:
    def __init__(self) -> None:
        self.uses: list[Use] = []

    def record(self, use: Use) -> None:
        self.uses.append(use)


async def test_the_contract_is_implemented_and_reveal_reports_a_use(app: App) -> None:
    svc, a = app.services, actor()
    resolver: TargetResolver = svc.api_key_use  # mypy checks the protocols
    directory: KeyDirectory = svc.key_directory
    sink: UsageSink = Recorder()
    svc.stored_keys.core.usage = sink  # where usage analytics plug in
    await svc.projects.create(a, "p")
    made = await svc.api_keys.create(a, "p", NewKey("k", VALUE))
    _, value = await svc.api_keys.reveal(a, "p", "k")
    assert value == VALUE.encode()
    assert isinstance(sink, Recorder)
    [use] = sink.uses
    assert (use.kind, use.key_id, use.caller, use.source) == (
        UseKind.REVEAL,
        made.key_id,
        "tester",
        "127.0.0.1",
    )
    assert (await resolver.for_use(a, "p", "k")).key_id == made.key_id
    assert (await directory.describe(a, "p", "k")).name == "k"

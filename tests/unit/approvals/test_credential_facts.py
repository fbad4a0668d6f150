"""The adapter from the credentials domain's contract to what the risk score needs
(services/approvals_facts.py), over explicit doubles of ``KeyDirectory`` and
``UsageFacts``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from strongroom.context import Actor
from strongroom.credentials.contract import KeyState, KeySummary, Sensitivity
from strongroom.errors import NotFound
from strongroom.services.approvals_facts import CredentialFacts


class Directory:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str]] = []

    async def usable(self, actor: Actor) -> list[KeySummary]:
        return []

    async def describe(self, actor: Actor, project: str, key: str) -> KeySummary:
        self.asked.append((actor.tenant, project, key))
        if key != "stripe":
            raise NotFound()
        return KeySummary(
            actor.tenant,
            project,
            key,
            42,
            "stripe",
            ("api.stripe.com",),
            {},
            KeyState.ACTIVE,
            Sensitivity.MEDIUM,
            None,
        )

    async def block(self, tenant: str, key_id: int, reason: str) -> None:
        return None


class Usage:
    def __init__(self) -> None:
        self.since: datetime | None = None

    async def anomalies_since(self, tenant: str, key_id: int, since: datetime) -> int:
        self.since = since
        return 2 if key_id == 42 else 0

    async def has_used(self, tenant: str, key_id: int, caller: str) -> bool:
        return caller == "veteran"


async def test_facts_from_the_credentials_contract() -> None:
    directory, usage = Directory(), Usage()
    facts = CredentialFacts(directory, usage)
    assert await facts.sensitivity("t1", "payments", "stripe") == "medium"
    assert await facts.recent_anomalies("t1", "payments", "stripe") == 2
    assert usage.since is not None
    assert abs((datetime.now(UTC) - usage.since) - timedelta(days=7)) < timedelta(seconds=5)
    assert await facts.first_use("t1", "payments", "stripe", "newcomer") is True
    assert await facts.first_use("t1", "payments", "stripe", "veteran") is False
    assert set(directory.asked) == {("t1", "payments", "stripe")}  # in the asking tenant
    with pytest.raises(NotFound):  # a missing key is refused, not scored
        await facts.sensitivity("t1", "payments", "nope")

"""What the approvals domain needs from the credentials domain (approvals/contract.py
``KeyFacts``, ``AnomalyFacts``), composed here because domains do not import each
other.

``CredentialFacts`` is the adapter over the credentials domain's contract
(credentials/contract.py ``KeyDirectory`` and ``UsageFacts``): sensitivity from the
key's summary (a missing key is refused by ``describe``), anomaly episodes in the last
7 days, and first use as "never used by this caller".

``services/container.py`` builds it over ``Services.key_directory`` and
``Services.usage_queries``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from strongroom.context import Actor
from strongroom.credentials.contract import KeyDirectory, UsageFacts

ANOMALY_WINDOW = timedelta(days=7)
SYSTEM = "system:approvals"


class CredentialFacts:
    """``KeyFacts`` and ``AnomalyFacts`` over the credentials domain."""

    def __init__(self, directory: KeyDirectory, usage: UsageFacts) -> None:
        self._directory, self._usage = directory, usage

    async def _key_id(self, tenant: str, project: str, key: str) -> tuple[int, str]:
        summary = await self._directory.describe(Actor(SYSTEM, tenant, "-", None), project, key)
        return summary.key_id, summary.sensitivity.value

    async def sensitivity(self, tenant: str, project: str, key: str) -> str:
        return (await self._key_id(tenant, project, key))[1]

    async def recent_anomalies(self, tenant: str, project: str, key: str) -> int:
        key_id, _ = await self._key_id(tenant, project, key)
        return await self._usage.anomalies_since(tenant, key_id, datetime.now(UTC) - ANOMALY_WINDOW)

    async def first_use(self, tenant: str, project: str, key: str, caller: str) -> bool:
        key_id, _ = await self._key_id(tenant, project, key)
        return not await self._usage.has_used(tenant, key_id, caller)

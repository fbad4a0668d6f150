"""What the approvals domain needs from the credentials domain (approvals/contract.py
``KeyFacts``, ``AnomalyFacts``), composed here because domains do not import each
other.

``CredentialFacts`` is the adapter over the credentials domain's contract
(credentials/contract.py ``KeyDirectory`` and ``UsageFacts``): sensitivity from the
key's summary (a missing key is refused by ``describe``), anomaly episodes in the last
7 days, and first use as "never used by this caller".

Until usage analytics land (``UsageFacts``), ``usage`` is None and the adapter fails
safe: no anomalies, and every use is a first use (10 points). The integrator passes
the usage domain's ``UsageFacts`` in services/container.py when it is wired.
``PlaceholderKeyFacts`` / ``PlaceholderAnomalyFacts`` stand in where no credentials
domain exists at all (every key highly sensitive, every use a first use).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from strongroom.context import Actor
from strongroom.credentials.contract import KeyDirectory, UsageFacts

ANOMALY_WINDOW = timedelta(days=7)
SYSTEM = "system:approvals"


class CredentialFacts:
    """``KeyFacts`` and ``AnomalyFacts`` over the credentials domain."""

    def __init__(self, directory: KeyDirectory, usage: UsageFacts | None) -> None:
        self._directory, self._usage = directory, usage

    async def _key_id(self, tenant: str, project: str, key: str) -> tuple[int, str]:
        summary = await self._directory.describe(Actor(SYSTEM, tenant, "-", None), project, key)
        return summary.key_id, summary.sensitivity.value

    async def sensitivity(self, tenant: str, project: str, key: str) -> str:
        return (await self._key_id(tenant, project, key))[1]

    async def recent_anomalies(self, tenant: str, project: str, key: str) -> int:
        key_id, _ = await self._key_id(tenant, project, key)
        if self._usage is None:
            return 0
        return await self._usage.anomalies_since(tenant, key_id, datetime.now(UTC) - ANOMALY_WINDOW)

    async def first_use(self, tenant: str, project: str, key: str, caller: str) -> bool:
        key_id, _ = await self._key_id(tenant, project, key)
        if self._usage is None:
            return True
        return not await self._usage.has_used(tenant, key_id, caller)


class PlaceholderKeyFacts:
    async def sensitivity(self, tenant: str, project: str, key: str) -> str:
        return "high"


class PlaceholderAnomalyFacts:
    async def recent_anomalies(self, tenant: str, project: str, key: str) -> int:
        return 0

    async def first_use(self, tenant: str, project: str, key: str, caller: str) -> bool:
        return True

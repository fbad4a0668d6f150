"""What the approvals domain needs from the credentials domain (approvals/contract.py
``KeyFacts``, ``AnomalyFacts``), until the credentials domain is wired here.

PLACEHOLDER: the integrator replaces ``PlaceholderKeyFacts`` and
``PlaceholderAnomalyFacts`` with adapters over the credentials domain's
``KeyDirectory.describe`` (sensitivity; refusing a missing key) and ``UsageFacts``
(``anomalies_since`` over 7 days, ``not has_used``). Until then they fail safe: every
key scores as highly sensitive and as a first use, so nothing is approved without a
human on their account.
"""

from __future__ import annotations


class PlaceholderKeyFacts:
    async def sensitivity(self, tenant: str, project: str, key: str) -> str:
        return "high"


class PlaceholderAnomalyFacts:
    async def recent_anomalies(self, tenant: str, project: str, key: str) -> int:
        return 0

    async def first_use(self, tenant: str, project: str, key: str, caller: str) -> bool:
        return True

"""The default ``UsageSink``: counts nothing. Usage analytics (another part of this
domain) replace it on the core (``KeyCore.usage``) when they are wired."""

from __future__ import annotations

from strongroom.credentials.contract import Use


class NullUsage:
    def record(self, use: Use) -> None:
        return None

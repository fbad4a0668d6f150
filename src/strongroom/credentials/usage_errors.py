"""Usage analytics' errors (credentials/usage_query.py): stable codes, fixed messages,
never the input."""

from __future__ import annotations

from strongroom.errors import StrongroomError


class InvalidUsageRange(StrongroomError):
    """``from``/``to`` unreadable (ISO 8601 expected), not in order, or spanning more
    buckets than allowed (``details.maxBuckets``)."""

    code, status, message = "USG001", 400, "invalid usage time range"


class InvalidGranularity(StrongroomError):
    """``granularity`` is neither ``hour`` nor ``day``."""

    code, status, message = "USG002", 400, "invalid usage granularity (hour or day)"


class UsageUnavailable(StrongroomError):
    """No stored-key directory is wired (the stored keys are not part of this build)."""

    code, status, message = "USG003", 404, "stored API keys are not available"

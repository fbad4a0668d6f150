"""Settings of idempotency keys on writes (api/idempotency.py, idempotency/;
docs/idempotency.md)."""

from __future__ import annotations

from pydantic import Field

from strongroom.config.base import Section


class IdempotencySettings(Section):
    """The ``Idempotency-Key`` header on POST and PATCH under /api/v1."""

    enabled: bool = True
    """Honour the header (off: it is ignored and every request runs)."""
    ttl_seconds: int = Field(default=86400, ge=60, le=7 * 86400)
    """How long a key and its first answer are kept (24 hours): a retry within this
    window gets the stored answer, after it the key is new again."""
    in_flight_seconds: int = Field(default=60, ge=5, le=3600)
    """A key whose first request has not answered after this long (its replica died)
    may be taken over by a retry; before that a retry gets 409 ``IDEM003``."""
    purge_interval_seconds: float = Field(default=3600.0, gt=0)
    """How often the job ``idempotency.purge`` deletes expired keys (once per period
    across replicas)."""

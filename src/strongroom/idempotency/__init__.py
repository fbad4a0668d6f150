"""Idempotency keys on writes: the first answer to a request, replayed to its retries
(api/idempotency.py applies it to every POST and PATCH; docs/idempotency.md)."""

from strongroom.idempotency.service import Claim, Idempotency, Stored

__all__ = ["Claim", "Idempotency", "Stored"]

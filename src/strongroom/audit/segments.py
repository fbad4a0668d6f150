"""Opening a writer segment: its first MAC key, wrapped by the KMS, and record 0."""

from __future__ import annotations

import math
import os
import socket
from datetime import UTC, datetime

from strongroom.audit.actions import ChainAction
from strongroom.audit.chain import SegmentChain, system_row
from strongroom.kms.interfaces import Kms
from strongroom.store.db import Database
from strongroom.store.models import AuditRecord, AuditSegment

SEGMENT_CTX_PURPOSE = "audit-segment"


def segment_context(segment_id: str) -> dict[str, str]:
    """The KMS wrap context of a segment's k0: it unwraps for that segment only."""
    return {"purpose": SEGMENT_CTX_PURPOSE, "segment": segment_id}


async def open_segment(db: Database, kms: Kms, heartbeat_s: float) -> SegmentChain:
    """A new segment, durable with its open record before any record joins it.
    k0 is published only wrapped (for verifiers with KMS access, see
    docs/audit-format.md "Trade-off"); the chain holds the only plain copy."""
    segment_id = os.urandom(16).hex()
    k0 = os.urandom(32)
    wrapped = await kms.wrap(k0, segment_context(segment_id))
    chain = SegmentChain(segment_id, k0)
    del k0
    opened = datetime.now(UTC)
    beat = math.ceil(heartbeat_s)  # integers only in chain-written JSON
    row, _ = chain.seal(system_row(ChainAction.OPEN, opened, {"heartbeat_s": beat}))
    async with db.transaction() as s:
        s.add(
            AuditSegment(
                segment_id=segment_id,
                opened_at=opened,
                writer=f"{socket.gethostname()}:{os.getpid()}"[:200],
                kms_key_ref=wrapped.key_ref,
                wrapped_key=wrapped.blob,
            )
        )
        s.add(AuditRecord(**row))
    return chain

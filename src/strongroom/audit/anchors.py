"""Checkpoint anchors: each new checkpoint, once committed, is also written outside
the database (docs/audit-format.md "Anchors"), so that a cut of the trail together
with its newest checkpoints contradicts a copy the database cannot reach.

Wire invariant (anchor format 1): one JSON object per checkpoint,

    {"type": "checkpoint", "v": 1, "number", "time" (ISO, UTC), "key_id",
     "digest": hex SHA-256("sr-audit-ckpt-link-1" 0x00 || body), "body", "signature" (hex)}

``body`` is the checkpoint's exact signed text (segment ids, last seqs, head hashes,
states, time: hashes and counts only), so an entry verifies on its own under the
checkpoint public key and a forged entry cannot accuse the database. Sinks:

* a file: one line appended per checkpoint (O_APPEND, fsynced) by every writer
  process, in any order; ``strongroom audit verify`` reads it (audit/anchor_check.py);
* a webhook: the same object as the body of a POST signed with the Standard Webhooks
  scheme (audit/webhook.py), message id ``ckpt_<key id>_<number>`` so that retries
  and replicas deduplicate. A receiver appending each body as a line keeps a file
  ``audit verify --anchors`` reads.

A sink that fails is logged and counted (``strongroom_audit_anchor_writes_total``),
never raised: the trail itself is in the database, the anchor only proves it later.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import structlog

from strongroom.audit.checkpoints import Signed, checkpoint_link
from strongroom.audit.webhook import WebhookSender
from strongroom.config import AuditAnchorSettings
from strongroom.observability.metrics import AUDIT_ANCHOR_WRITES

log = structlog.get_logger("strongroom.audit")

ANCHOR_FORMAT = 1


def entry(cp: Signed) -> dict[str, Any]:
    """The anchor object of one checkpoint (the line, and the webhook body)."""
    return {
        "type": "checkpoint",
        "v": ANCHOR_FORMAT,
        "number": cp.number,
        "time": cp.ts.isoformat(),
        "key_id": cp.key_id,
        "digest": checkpoint_link(cp.body.encode()).hex(),
        "body": cp.body,
        "signature": cp.signature.hex(),
    }


def encode(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _append(path: Path, line: bytes) -> None:
    # One write of one line with O_APPEND: concurrent writers (replicas on a shared
    # file, a CLI run beside the service) never interleave inside a line.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


class Anchors:
    """The configured sinks; ``publish`` never raises."""

    def __init__(self, settings: AuditAnchorSettings) -> None:
        self.file = settings.file
        self._webhook = (
            WebhookSender(
                settings.webhook_url, settings.webhook_secret, label="audit_anchor_webhook"
            )
            if settings.webhook_url
            else None
        )
        self._lock = asyncio.Lock()  # this process's lines in checkpoint order

    @property
    def configured(self) -> bool:
        return self.file is not None or self._webhook is not None

    async def publish(self, cp: Signed) -> None:
        body = encode(entry(cp))
        async with self._lock:
            if self.file is not None:
                try:
                    await asyncio.to_thread(_append, self.file, body + b"\n")
                    AUDIT_ANCHOR_WRITES.labels("file", "written").inc()
                except Exception as exc:  # the service goes on; verify shows the gap
                    log.error(
                        "audit_anchor_failed",
                        sink="file",
                        checkpoint=cp.number,
                        error_type=type(exc).__name__,
                    )
                    AUDIT_ANCHOR_WRITES.labels("file", "failed").inc()
            if self._webhook is not None:
                sent = await self._webhook.send(body, f"ckpt_{cp.key_id}_{cp.number}")
                AUDIT_ANCHOR_WRITES.labels("webhook", "written" if sent else "failed").inc()
                if not sent:
                    log.error("audit_anchor_failed", sink="webhook", checkpoint=cp.number)

    async def close(self) -> None:
        if self._webhook is not None:
            await self._webhook.close()

"""What a check of the trail found (audit/verify.py's walk), in the database or in an
export file. The field order is part of ``strongroom audit verify --json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["ok", "unconfirmed", "failed"]


@dataclass(frozen=True)
class Finding:
    # altered | deleted | inserted | reordered | checkpoint | truncated | format | anchor
    # (integrity), unconfirmed (not proven either way: a live tail, an unanchored checkpoint)
    kind: str
    message: str
    segment: str | None = None
    seq: int | None = None
    record_id: int | None = None
    checkpoint: int | None = None

    def describe(self) -> str:
        where = f"record id {self.record_id}" if self.record_id is not None else "file"
        if self.segment is not None:
            where += f" (segment {self.segment} seq {self.seq})"
        return f"{where}: {self.kind}: {self.message}"


@dataclass
class Report:
    ok: bool = True
    records: int = 0
    segments: int = 0
    checkpoints: int = 0
    last_checkpoint: int | None = None
    unchained: int = 0  # written before the chain existed: nothing to check
    findings: list[Finding] = field(default_factory=list)  # integrity problems

    @property
    def first_bad(self) -> Finding | None:
        return self.findings[0] if self.findings else None


@dataclass
class VerifyReport(Report):
    """The trail in the database, MACs included (audit/online.py).

    ``status``: "failed" when something was found (``findings``) or a silent tail may
    have been cut (``truncated``); else "unconfirmed" when some records or checkpoints
    are intact as far as the database shows but nothing proves nothing followed them
    (``unconfirmed``: a live segment's tail, checkpoints newer than the newest anchor);
    else "ok". ``ok`` is status "ok" only."""

    truncated: list[Finding] = field(default_factory=list)  # tails possibly cut
    seconds: float = 0.0
    status: Status = "ok"
    unconfirmed: list[Finding] = field(default_factory=list)
    anchors: str | None = None  # the anchor log held against the trail, if any
    last_anchored: int | None = None  # the newest checkpoint it holds

    def finish(self) -> VerifyReport:
        big = 1 << 62
        self.findings.sort(key=lambda f: (f.record_id or big, f.checkpoint or 0))
        if self.findings or self.truncated:
            self.status = "failed"
        else:
            self.status = "unconfirmed" if self.unconfirmed else "ok"
        self.ok = self.status == "ok"
        return self


@dataclass
class OfflineReport(Report):
    """An export or archive file, without MACs (audit/offline.py); findings in file
    order: the file's form, the checkpoints, then each segment."""

    covered: int = 0  # bound to a checkpoint signature
    uncovered: int = 0  # after the last attested head of their segment

    def finish(self) -> OfflineReport:
        self.ok = not self.findings
        return self

"""What a check of the trail found (audit/verify.py's walk), in the database or in an
export file. The field order is part of ``strongroom audit verify --json``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    kind: str  # altered | deleted | inserted | reordered | checkpoint | truncated | format
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
    """The trail in the database, MACs included (audit/online.py)."""

    truncated: list[Finding] = field(default_factory=list)  # tails possibly cut
    seconds: float = 0.0

    def finish(self) -> VerifyReport:
        big = 1 << 62
        self.findings.sort(key=lambda f: (f.record_id or big, f.checkpoint or 0))
        self.ok = not self.findings and not self.truncated
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

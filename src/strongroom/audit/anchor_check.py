"""Holding the database's checkpoints against an anchor log (audit/anchors.py), for
``strongroom audit verify [--anchors FILE]`` and ``GET /api/v1/audit/verify``.

An anchor entry counts only if it verifies on its own: its digest is the link of its
body, its signature verifies under the checkpoint key and its body is numbered as it
says. Then, for every anchored checkpoint the trail still holds (not archived):

* the database's checkpoint of that number must be the anchored one, else
  ``checkpoint`` (replaced, or re-signed by someone holding the signing key);
* it must be there at all, else ``deleted``: the trail was cut, even if what remains
  is self-consistent. The heads of anchored checkpoints past the database's newest
  are folded into the attested heads, so the walk also names the records cut.

A database checkpoint newer than the newest anchor is not yet confirmed
(``unconfirmed``), nor is a live segment's tail past its newest anchored head
(audit/online.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from strongroom.audit import verify as v
from strongroom.audit.checkpoints import checkpoint_link, key_id, raw_public, signature_ok
from strongroom.audit.findings import Finding


@dataclass(frozen=True)
class Anchor:
    number: int
    time: str
    body: str
    heads: list[dict[str, Any]]


@dataclass
class AnchorLog:
    """The verified entries of one anchor log, and what was wrong with the others."""

    source: str
    anchors: dict[int, Anchor] = field(default_factory=dict)
    problems: list[Finding] = field(default_factory=list)
    unreadable: str | None = None  # why the file could not be read (nothing confirmed)

    @property
    def newest(self) -> int | None:
        return max(self.anchors, default=None)

    def confirmed(self) -> dict[str, int]:
        """Segment -> the highest seq an anchored checkpoint attests."""
        top: dict[str, int] = {}
        for a in self.anchors.values():
            for h in a.heads:
                top[h["seg"]] = max(top.get(h["seg"], -1), int(h["seq"]))
        return top


def read(path: Path, public: Ed25519PublicKey) -> AnchorLog:
    """The anchor log at ``path``; a file not there yet holds no anchors."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return parse(f, public, str(path))
    except FileNotFoundError:
        return AnchorLog(str(path))
    except OSError as exc:  # not the trail's fault: nothing is confirmed, nothing accused
        return AnchorLog(str(path), unreadable=type(exc).__name__)


def parse(lines: Iterable[str], public: Ed25519PublicKey, source: str) -> AnchorLog:
    log, kid = AnchorLog(source), key_id(raw_public(public))
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        anchor, why = _entry(line, public, kid)
        if anchor is None:
            log.problems.append(Finding("anchor", f"anchor log line {i}: {why}"))
            continue
        seen = log.anchors.get(anchor.number)
        if seen is not None and seen.body != anchor.body:
            msg = f"anchor log line {i}: a second, different checkpoint {anchor.number}"
            log.problems.append(Finding("anchor", msg, checkpoint=anchor.number))
            continue
        log.anchors[anchor.number] = anchor
    return log


def _entry(line: str, public: Ed25519PublicKey, kid: str) -> tuple[Anchor | None, str]:
    try:
        obj = json.loads(line)
        number, body, sig = int(obj["number"]), str(obj["body"]), bytes.fromhex(obj["signature"])
        parsed = json.loads(body)
        heads = list(parsed["heads"])
        if obj.get("type") != "checkpoint" or obj.get("v") != 1:
            return None, "not a format-1 checkpoint anchor"
    except (ValueError, KeyError, TypeError):
        return None, "not an anchor entry"
    if obj.get("digest") != checkpoint_link(body.encode()).hex():
        return None, f"checkpoint {number}: digest does not match its body"
    if obj.get("key_id") != kid or not signature_ok(public, body.encode(), sig):
        return None, f"checkpoint {number}: signature does not verify under the checkpoint key"
    if parsed.get("n") != number:
        return None, f"checkpoint {number}: its body is numbered {parsed.get('n')}"
    return Anchor(number, str(obj.get("time")), body, heads), ""


def _spans(numbers: Sequence[int]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for n in numbers:
        if spans and spans[-1][1] == n - 1:
            spans[-1] = (spans[-1][0], n)
        else:
            spans.append((n, n))
    return spans


def _named(a: int, b: int) -> str:
    return f"checkpoint {a}" if a == b else f"checkpoints {a}..{b}"


def compare(
    log: AnchorLog,
    bodies: dict[int, str],
    first: int,
    attested: v.Heads | None,
) -> tuple[list[Finding], list[Finding]]:
    """(findings, unconfirmed) of the database's checkpoints ``bodies`` (number ->
    signed body; the chain starts at ``first``) against ``log``. ``attested``: the
    database's folded heads, to extend with anchored checkpoints it lost (None when
    the database's own chain is broken: nothing more is folded onto it)."""
    found: list[Finding] = list(log.problems)
    anchors = {n: a for n, a in sorted(log.anchors.items()) if n >= first}  # else archived
    for n, a in anchors.items():
        if n in bodies and bodies[n] != a.body:
            msg = (
                f"checkpoint {n} differs from the one anchored at {a.time} (replaced or re-signed)"
            )
            found.append(Finding("checkpoint", msg, checkpoint=n))
    missing = [n for n in anchors if n not in bodies]
    for lo, hi in _spans(missing):
        msg = (
            f"{_named(lo, hi)} anchored at {anchors[hi].time} "
            f"{'is' if lo == hi else 'are'} missing from the database: the trail was cut"
        )
        found.append(Finding("deleted", msg, checkpoint=lo))
    newest_db = max(bodies, default=0)
    if attested is not None:
        for n in (n for n in missing if n > newest_db):
            went_back = v.fold(attested, n, json.loads(anchors[n].body))
            if went_back is not None:
                found.append(Finding("checkpoint", f"checkpoint {n}: {went_back}", checkpoint=n))
                break
    newest = log.newest
    later = sorted(n for n in bodies if newest is None or n > newest)
    unconfirmed = []
    if log.unreadable is not None:
        msg = f"anchor log {log.source} cannot be read ({log.unreadable})"
        unconfirmed.append(Finding("unconfirmed", msg))
    for lo, hi in _spans(later):
        held = "holds none" if newest is None else f"ends at checkpoint {newest}"
        msg = f"{_named(lo, hi)} not in the anchor log yet (it {held})"
        unconfirmed.append(Finding("unconfirmed", msg, checkpoint=lo))
    return found, unconfirmed

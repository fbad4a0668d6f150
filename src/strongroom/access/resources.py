"""Resource patterns: which objects of a resource type a grant reaches.

A grant may carry a resource pattern beside its permission (access/rbac.py), e.g.
``secrets:read`` on ``apps/billing/*``. The pattern is read in the namespace of the
permission's resource type: secret paths for ``secrets:*``, and later stored API
keys as ``projects/{project}/keys/{name}`` for ``api-keys:use``. Syntax, segment by
segment over ``/``:

* a literal segment matches itself (``[A-Za-z0-9._-]``, never ``.`` or ``..``);
* ``+`` matches exactly one segment (as in OpenBao policies);
* a final ``*`` matches one or more further segments: ``apps/billing/*`` reaches
  ``apps/billing/stripe`` and ``apps/billing/eu/adyen``, not ``apps/billing`` itself;
* ``*`` alone matches every resource.

Globs inside a segment (``apps/bill*``) are not accepted: with whole segments only,
whether one pattern covers another is decidable by a segment-wise comparison
(``pattern_covers``), which the "no one grants more than it holds" rule needs.
"""

from __future__ import annotations

import functools
import re

MAX_PATTERN_LENGTH = 512
MAX_SEGMENTS = 32
SEGMENT = re.compile(r"[A-Za-z0-9._-]{1,128}")
ONE, REST = "+", "*"
# The same rules as a regex (no look-around: pydantic's engine and JSON Schema's both
# read it), for the API's documents. A segment of the alphabet that is not "." or "..".
SEGMENT_REGEX = (
    r"(?:[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}|\.[A-Za-z0-9_-][A-Za-z0-9._-]{0,126}"
    r"|\.\.[A-Za-z0-9._-]{1,126})"
)
_SEG = rf"(?:\+|{SEGMENT_REGEX})"
PATTERN_REGEX = rf"^(?:\*|{_SEG}(?:/{_SEG}){{0,31}}(?:/\*)?)$"


def valid_segment(seg: str) -> bool:
    return bool(SEGMENT.fullmatch(seg)) and seg not in (".", "..")


@functools.lru_cache(maxsize=4096)
def parse_pattern(pattern: str) -> tuple[tuple[str, ...], bool] | None:
    """(segments before a final ``*``, whether it ends in ``*``); None when malformed.
    Cached: a listing checks every candidate path against the same few grants."""
    if not pattern or len(pattern) > MAX_PATTERN_LENGTH:
        return None
    parts = pattern.split("/")
    rest = parts[-1] == REST
    if rest:
        parts = parts[:-1]
    if len(parts) > MAX_SEGMENTS or not all(p == ONE or valid_segment(p) for p in parts):
        return None
    return tuple(parts), rest


def valid_pattern(pattern: str) -> bool:
    return parse_pattern(pattern) is not None


def matches(pattern: str, resource: str) -> bool:
    """Does ``pattern`` reach ``resource`` (a concrete path)?"""
    parsed = parse_pattern(pattern)
    if parsed is None:
        return False  # fail closed on anything not written by parse_pattern's rules
    head, rest = parsed
    segs = resource.split("/")
    if len(segs) < len(head) or (not rest and len(segs) != len(head)):
        return False
    if rest and len(segs) == len(head):
        return False  # "a/*" is strictly below "a"
    return all(h in (ONE, s) for h, s in zip(head, segs, strict=False))


def pattern_covers(held: str, wanted: str) -> bool:
    """Is every resource ``wanted`` matches also matched by ``held``?"""
    h, w = parse_pattern(held), parse_pattern(wanted)
    if h is None or w is None:
        return False
    h_head, h_rest = h
    w_head, w_rest = w
    if h_rest:
        # held reaches paths longer than its head; wanted's shortest path must be too.
        shortest = len(w_head) + (1 if w_rest else 0)
        if shortest <= len(h_head):
            return False
    elif w_rest or len(w_head) != len(h_head):
        return False
    # On the shared head, held's segment must accept whatever wanted's accepts.
    pairs = zip(h_head, w_head, strict=False)
    return all(hs == ONE or (ws != ONE and hs == ws) for hs, ws in pairs)


def literal_prefix(pattern: str) -> str | None:
    """The longest literal path prefix every match starts with (for a database prefix
    filter before the exact check); ``""`` when none, None when malformed."""
    parsed = parse_pattern(pattern)
    if parsed is None:
        return None
    head, rest = parsed
    out: list[str] = []
    for seg in head:
        if seg == ONE:
            return "/".join(out) + "/" if out else ""
        out.append(seg)
    if rest:
        return "/".join(out) + "/" if out else ""
    return "/".join(out)

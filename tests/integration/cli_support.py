"""Shared by the in-process CLI tests (their ``env`` fixture is in conftest.py)."""

from __future__ import annotations


def one_line(text: str) -> str:
    """The only line of ``text``, which must hold no traceback."""
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]

"""Values that must not show up in logs: masked in ``repr()``.

``Secret`` is a ``str``: it compares, hashes, slices and serialises as its text, so
code that uses a decrypted value or a new access key needs no change, but ``repr()``
(what debuggers, ``print(list)``, logging ``%r`` and tracebacks' locals show) masks it.
"""

from __future__ import annotations


class Secret(str):
    """A ``str`` whose ``repr`` is ``Secret('***')``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')"

    def reveal(self) -> str:
        """The plain ``str`` (no masking)."""
        return str.__str__(self)


def mask(value: str | None) -> str:
    """For ``repr`` of configuration: whether a credential is set, never its text."""
    return "None" if value is None else "'***'"

"""The vault's errors (stable codes ``SECnnn``; README, table of error codes).
Messages are fixed: no path, value or version number from the request in them."""

from __future__ import annotations

from strongroom.errors import StrongroomError


class SecretNotFound(StrongroomError):
    """No such secret, no such version, or one the caller may not see (same answer)."""

    code, status, message = "SEC001", 404, "secret not found"


class SecretVersionGone(StrongroomError):
    """The version exists but its value does not serve: soft-deleted (undelete brings
    it back) or destroyed (never); ``details.state`` says which."""

    code, status, message = "SEC002", 404, "secret version deleted or destroyed"


class CasMismatch(StrongroomError):
    """``cas`` did not name the secret's newest version (0: the secret exists)."""

    code, status, message = "SEC003", 409, "check-and-set version mismatch"


class SecretExpired(StrongroomError):
    code, status, message = "SEC004", 410, "secret version expired"


class SecretTooLarge(StrongroomError):
    code, status, message = "SEC005", 413, "secret value too large"


class SecretConflict(StrongroomError):
    """A write without ``cas`` kept losing to concurrent writers; retrying may help."""

    code, status, message = "SEC006", 409, "secret changed concurrently; retry"


class NothingPending(StrongroomError):
    code, status, message = "SEC007", 409, "no such version to promote"

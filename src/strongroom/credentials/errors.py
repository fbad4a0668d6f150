"""The stored API keys' errors (stable codes ``APKnnn``; README, table of error codes).
Messages are fixed: no project, key name, host or value from the request in them."""

from __future__ import annotations

from strongroom.errors import StrongroomError


class ApiKeyNotFound(StrongroomError):
    """No such project or key, or one the caller may not see (same answer)."""

    code, status, message = "APK001", 404, "project or api key not found"


class ApiKeyExists(StrongroomError):
    code, status, message = "APK002", 409, "project or api key already exists"


class ApiKeyConflict(StrongroomError):
    """``version`` did not name the key's current version, or a concurrent change won."""

    code, status, message = "APK003", 409, "api key changed concurrently (version mismatch)"


class InvalidHost(StrongroomError):
    code, status, message = "APK004", 400, "invalid host pattern (a name, an IP or *.domain)"


class InvalidInjection(StrongroomError):
    code, status, message = "APK005", 400, "invalid injection (header or query name, {key} once)"


class InvalidNetwork(StrongroomError):
    code, status, message = "APK006", 400, "invalid allowed network (a CIDR)"


class ApiKeyRevoked(StrongroomError):
    code, status, message = "APK007", 409, "api key revoked"


class ApiKeyBlocked(StrongroomError):
    code, status, message = "APK008", 423, "api key blocked"


class ApiKeyExpired(StrongroomError):
    code, status, message = "APK009", 410, "api key expired"


class RotationHookFailed(StrongroomError):
    """The hook erred, timed out or answered something that is not a value; nothing
    changed and the current value still serves (``details.step``)."""

    code, status, message = "APK010", 502, "rotation hook failed; the current value still serves"


class NoRotationHook(StrongroomError):
    code, status, message = "APK011", 400, "no such rotation hook configured"


class ProjectNotEmpty(StrongroomError):
    code, status, message = "APK012", 409, "project still holds api keys"


class InvalidKeyValue(StrongroomError):
    """Empty, too large, or holding control characters (it goes into a header)."""

    code, status, message = "APK013", 400, "invalid api key value"

"""Crypto-layer failures.

Every failure to open a ciphertext is one exception type with an internal
``reason`` for logs and metrics; callers must map all of them to the same
client error so that the reason never becomes an oracle.
"""


class CryptoError(Exception):
    """Base class for crypto-layer failures."""


class CiphertextError(CryptoError):
    """A ciphertext could not be parsed, authenticated or opened."""

    def __init__(self, reason: str, position: int = 0) -> None:
        super().__init__("ciphertext rejected")
        self.reason = reason
        self.position = position  # which item of a batch call, for the caller's index


class DataKeyExhaustedError(CryptoError):
    """A data key reached its item limit; the caller must start a new batch."""

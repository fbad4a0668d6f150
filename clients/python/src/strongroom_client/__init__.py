"""Strongroom client: sync ``Client`` and async ``AsyncClient`` with the same surface,
offline encryption from signed key statements, blind index tokens.

    from strongroom_client import Client

    with Client("http://127.0.0.1:8080", api_key="srk_...") as sr:
        sr.keys.create("alice")
        ct = sr.encrypt("alice", ["Alice Smith"])
        assert sr.decrypt("alice", ct) == ["Alice Smith"]
"""

from strongroom_client._async.client import AsyncClient
from strongroom_client._async.data import ROTATION_REASONS, ItemResult, Rewrapped, Rotated
from strongroom_client._config import Config, RetryPolicy
from strongroom_client._secret import Secret
from strongroom_client._sync.client import Client
from strongroom_client.errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    InvalidInputError,
    KeyNotFoundError,
    KeyStatementError,
    PermissionDeniedError,
    RateLimitedError,
    StrongroomError,
    TransportError,
)
from strongroom_client.statement import KeyStatement, ServiceKey

__version__ = "0.1.0"
__all__ = [
    "ROTATION_REASONS",
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "Config",
    "ConfigurationError",
    "InvalidInputError",
    "ItemResult",
    "KeyNotFoundError",
    "KeyStatement",
    "KeyStatementError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RetryPolicy",
    "Rewrapped",
    "Rotated",
    "Secret",
    "ServiceKey",
    "StrongroomError",
    "TransportError",
    "__version__",
]

"""A trusted issuer's signing keys (JWKS), fetched over HTTP and cached in memory.

Keys are looked up by ``kid`` only; a token never chooses where keys come from
(``jku``, ``x5u``, ``jwk`` and ``x5c`` headers are never read). An unknown ``kid``
refetches the set, at most once per ``min_refresh`` seconds per issuer, so a flood
of made-up kids costs the issuer at most one request a minute. A failed fetch keeps
the keys already held.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from strongroom.caching import SingleFlight

log = structlog.get_logger(__name__)

MAX_JWKS_BYTES = 256 * 1024
MIN_RSA_BITS = 2048
# The key type each accepted algorithm needs: RS256 only with an RSA key, ES256 only
# with a P-256 key (a JWK of another type is never tried with that algorithm).
_KTY_FOR_ALG = {"RS256": ("RSA", None), "ES256": ("EC", "P-256")}

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class JwksUnavailable(Exception):
    """No keys could be fetched and none are cached."""


@dataclass(frozen=True)
class Jwk:
    kid: str
    kty: str
    crv: str | None
    alg: str | None  # the JWK's own "alg", when it pins one
    key: PublicKey

    def fits(self, alg: str) -> bool:
        kty, crv = _KTY_FOR_ALG.get(alg, (None, None))
        return (
            kty == self.kty
            and (crv is None or crv == self.crv)
            and (self.alg is None or self.alg == alg)
        )


def parse_jwks(doc: Any) -> dict[str, Jwk]:
    """Usable signing keys by kid. Keys that are not RSA (>= 2048 bits) or EC P-256,
    are marked for encryption, lack a kid, or fail to parse are skipped."""
    keys: dict[str, Jwk] = {}
    raw = doc.get("keys") if isinstance(doc, dict) else None
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("kid"), str):
            continue
        if item.get("use", "sig") != "sig" or item.get("kty") not in ("RSA", "EC"):
            continue
        alg = item.get("alg")
        try:
            # Build from kty (never from a symmetric or unknown alg the JWK names).
            parsed = PyJWK({k: v for k, v in item.items() if k != "alg"})
        except (PyJWKError, ValueError, TypeError):
            continue
        key = parsed.key
        if isinstance(key, rsa.RSAPublicKey) and key.key_size >= MIN_RSA_BITS:
            keys[item["kid"]] = Jwk(item["kid"], "RSA", None, _str(alg), key)
        elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            keys[item["kid"]] = Jwk(item["kid"], "EC", "P-256", _str(alg), key)
    return keys


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


class JwksCache:
    def __init__(
        self,
        uri: str,
        client: httpx.AsyncClient,
        *,
        ttl: float = 3600.0,
        min_refresh: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.uri, self._client, self._ttl, self._min_refresh = uri, client, ttl, min_refresh
        self._clock = clock
        self._keys: dict[str, Jwk] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._tried_at: float | None = None  # last attempt, successful or not
        # One fetch at a time, shared by every caller that needs it; a caller that
        # gives up (cancelled) does not cancel it for the others. Stores nothing: the
        # keys live in ``_keys``, kept when a fetch fails.
        self._fetches: SingleFlight[str, None] = SingleFlight(ttl=0, maxsize=0, name="jwks")
        self.fetches = 0  # attempts, for metrics and tests

    async def key(self, kid: str) -> Jwk | None:
        """The key for ``kid``, refetching the set when it is stale or lacks the kid
        (within the refresh limit). Raises JwksUnavailable when no keys are held."""
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at >= self._ttl
        if (stale or kid not in self._keys) and (
            self._fetches.busy(uri := self.uri) or self._due(kid, now)
        ):
            await self._fetches.run(uri, lambda: self._fetch(self._clock()))
        if not self._keys:
            raise JwksUnavailable()
        return self._keys.get(kid)

    def _due(self, kid: str, now: float) -> bool:
        since = None if self._tried_at is None else now - self._tried_at
        if not self._keys:  # nothing to fall back on: retry soon, but not per request
            return since is None or since >= min(1.0, self._min_refresh)
        stale = self._fetched_at is None or now - self._fetched_at >= self._ttl
        return (stale or kid not in self._keys) and (since is None or since >= self._min_refresh)

    async def _fetch(self, now: float) -> None:
        self._tried_at = now
        self.fetches += 1
        try:
            r = await self._client.get(self.uri, headers={"Accept": "application/json"})
            if r.status_code != 200 or len(r.content) > MAX_JWKS_BYTES:
                raise ValueError(f"status {r.status_code}, {len(r.content)} bytes")
            keys = parse_jwks(json.loads(r.content))
        except (httpx.HTTPError, ValueError) as exc:
            # Type only: a library message could echo the response.
            log.warning("jwks.fetch_failed", uri=self.uri, error=type(exc).__name__)
            return
        if keys:
            self._keys, self._fetched_at = keys, now
        else:
            log.warning("jwks.no_usable_keys", uri=self.uri)

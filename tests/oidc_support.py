"""A real JWKS endpoint on 127.0.0.1 and a token issuer with keys generated here.

``JwksServer`` serves whatever ``keys`` holds at ``/jwks.json`` from a thread and
counts the requests it answers; ``Issuer`` holds RSA and EC private keys and signs
tokens with PyJWT (or by hand, for the forgeries PyJWT refuses to make).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypedDict

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://idp.example.test/tenant-a"
AUDIENCE = "strongroom-api"
COGNITO_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool"
COGNITO_CLIENT = "3n4b5urk1ft4fl3mg5e62d9ado"

# Claims the tests hand to ``Issuer.token(**claims)``. A TypedDict is checked key by
# key; a plain dict's value type would also have to fit ``kid``, ``alg`` and ``headers``.
Claims = TypedDict(
    "Claims",
    {
        "aud": str | None,
        "groups": list[str],
        "scope": str,
        "token_use": str,
        "client_id": str,
        "cognito:groups": list[str],
        "custom:tenant": str,
        "email": str,
        "sub": str,
    },
    total=False,
)


class JwksServer:
    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll: shutdown() waits up to one poll interval (0.5 s by default).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/jwks.json"

    def __enter__(self) -> JwksServer:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class Issuer:
    """Signing keys by kid: ``rsa-1`` (RS256) and ``ec-1`` (ES256) to start with."""

    def __init__(self, issuer: str = ISSUER) -> None:
        self.issuer = issuer
        self.private: dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey] = {}
        self.add_rsa("rsa-1")
        self.add_ec("ec-1")

    def add_rsa(self, kid: str) -> None:
        self.private[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def add_ec(self, kid: str) -> None:
        self.private[kid] = ec.generate_private_key(ec.SECP256R1())

    def jwk(self, kid: str) -> dict[str, Any]:
        key = self.private[kid]
        if isinstance(key, rsa.RSAPrivateKey):
            doc = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        else:
            doc = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        return {**doc, "kid": kid, "use": "sig"}

    def jwks(self, *kids: str) -> list[dict[str, Any]]:
        return [self.jwk(k) for k in (kids or tuple(self.private))]

    def public_pem(self, kid: str) -> bytes:
        return (
            self.private[kid]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def claims(self, **extra: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "alice",
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
        }
        base.update(extra)
        return {k: v for k, v in base.items() if v is not None}

    def token(
        self,
        kid: str = "rsa-1",
        alg: str | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        key = self.private[kid]
        alg = alg or ("RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256")
        return jwt.encode(
            self.claims(**claims), key, algorithm=alg, headers={"kid": kid, **(headers or {})}
        )

    def unsigned(self, kid: str = "rsa-1", **claims: Any) -> str:
        """``alg: none``."""
        return _compact({"alg": "none", "typ": "JWT", "kid": kid}, self.claims(**claims), b"")

    def hs256_with_public_key(self, kid: str = "rsa-1", **claims: Any) -> str:
        """The classic confusion: HMAC keyed with the issuer's public key PEM (PyJWT
        refuses to make this one, so it is made by hand)."""
        header = {"alg": "HS256", "typ": "JWT", "kid": kid}
        signing_input = _signing_input(header, self.claims(**claims))
        mac = hmac.new(self.public_pem(kid), signing_input, hashlib.sha256).digest()
        return f"{signing_input.decode()}.{_b64(mac)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signing_input(header: dict[str, Any], claims: dict[str, Any]) -> bytes:
    parts = (json.dumps(header).encode(), json.dumps(claims).encode())
    return ".".join(_b64(p) for p in parts).encode()


def _compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes) -> str:
    return f"{_signing_input(header, claims).decode()}.{_b64(signature)}"


def issuer_config(uri: str, **extra: Any) -> dict[str, Any]:
    """An ``OidcIssuer`` settings entry for the test issuer."""
    return {
        "issuer": ISSUER,
        "jwks_uri": uri,
        "audiences": [AUDIENCE],
        "algorithms": ["RS256", "ES256"],
        "group_roles": {"strongroom-admins": ["admin"], "auditors": ["auditor"]},
        "scope_permissions": {"strongroom/encrypt": ["keys:encrypt", "keys:read-public"]},
        "scope_roles": {"strongroom/decrypt": ["decrypt-only"]},
        **extra,
    }


def serve(issuer: Issuer) -> Iterator[JwksServer]:
    """For fixtures: a running server holding the issuer's current public keys."""
    with JwksServer() as server:
        server.keys = issuer.jwks()
        yield server

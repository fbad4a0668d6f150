"""The certificate domain's errors: stable codes, fixed messages, never the input."""

from __future__ import annotations

from strongroom.errors import StrongroomError


class BadCertificate(StrongroomError):
    """Not a certificate, a key or a bundle we can read (garbage, truncated, unsupported)."""

    code, status, message = "PKI001", 400, "unreadable certificate or key"


class BadPassword(StrongroomError):
    """A PKCS#12 or encrypted key that the given password does not open (or no password)."""

    code, status, message = "PKI002", 400, "wrong or missing password"


class BundleTooLarge(StrongroomError):
    code, status, message = "PKI003", 413, "certificate bundle too large"


class CertificateNotFound(StrongroomError):
    code, status, message = "PKI004", 404, "certificate not found"


class KeyMismatch(StrongroomError):
    """A private key was given that belongs to none of the bundle's certificates."""

    code, status, message = "PKI005", 400, "private key matches no certificate in the bundle"


class RenewalConflict(StrongroomError):
    """The certificate named as renewed is already renewed by another (lineage is linear)."""

    code, status, message = "PKI006", 409, "certificate already renewed"


class NoPrivateKey(StrongroomError):
    code, status, message = "PKI007", 409, "no private key stored for this certificate"


class CaDisabled(StrongroomError):
    """The internal CA is off (settings ``pki.ca.enabled``): its routes do not exist."""

    code, status, message = "PKI008", 404, "internal CA not enabled"


class CaNotFound(StrongroomError):
    code, status, message = "PKI009", 404, "certificate authority or role not found"


class CaExists(StrongroomError):
    code, status, message = "PKI010", 409, "certificate authority already exists"


class IssuanceRefused(StrongroomError):
    """A request outside the role's limits (names, lifetime, usages) or beyond the
    issuer's own validity: refused, never truncated (``detail.reason`` says which)."""

    code, status, message = "PKI011", 400, "issuance refused by policy"

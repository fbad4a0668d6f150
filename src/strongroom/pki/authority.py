"""The optional internal CA (settings ``pki.ca.enabled``, off by default): a tenant's
root or intermediate CAs, whose keys are sealed (datakeys ``Purpose.PKI_KEY``, bound
to the tenant, the CA's name and its certificate); roles that limit names, lifetime,
key usage and EKU; issuance from a CSR or a generated key; CRLs. Issued and CA
certificates go into the inventory like imported ones, so the monitor watches them
and revocation is the inventory's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from sqlalchemy.exc import IntegrityError

from strongroom.audit.actions import CertificateAction
from strongroom.audit.audited import audited
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.config import CertificateAuthoritySettings
from strongroom.context import Actor
from strongroom.datakeys import Purpose
from strongroom.errors import InvalidInput
from strongroom.pki import keyfiles, signing
from strongroom.pki.errors import CaDisabled, CaExists, CaNotFound, IssuanceRefused
from strongroom.pki.inventory import CertificateInventory
from strongroom.pki.issue import IssueRequest
from strongroom.pki.models import CertificateView
from strongroom.pki.parse import Bundle
from strongroom.pki.policy import RolePolicy
from strongroom.store import pki_repo
from strongroom.store.models import CertificateAuthority, CertificateRole

NAME = re.compile(r"[a-z][a-z0-9-]{0,63}")
BACKDATE = timedelta(minutes=1)  # clock skew between us and relying parties


@dataclass(frozen=True)
class AuthorityView:
    name: str
    certificate: CertificateView
    parent: str | None
    chain_pem: str  # the CA's certificate and its issuers', PEM


@dataclass(frozen=True)
class Issued:
    certificate: CertificateView
    chain_pem: str  # the issuing CA and its issuers, PEM
    private_key_pem: str | None  # only when the key was generated here: shown once


class CertificateAuthorities:
    def __init__(self, inventory: CertificateInventory, settings: CertificateAuthoritySettings):
        self.inv, self.settings = inventory, settings

    def _on(self) -> None:
        if not self.settings.enabled:
            raise CaDisabled()

    # authorities ---------------------------------------------------------------
    async def create(
        self,
        actor: Actor,
        name: str,
        common_name: str,
        key_type: str,
        ttl_days: int,
        parent: str | None,
    ) -> AuthorityView:
        self._on()
        async with audited(self.inv.audit, actor, CertificateAction.CA_CREATE, name):
            if not NAME.fullmatch(name):
                raise InvalidInput("authority name malformed")
            if not 1 <= ttl_days <= self.settings.max_ca_days:
                raise IssuanceRefused(reason="maxCaDays")
            return await self._create(actor, name, common_name, key_type, ttl_days, parent)

    async def _create(
        self, actor: Actor, name: str, cn: str, key_type: str, ttl_days: int, parent: str | None
    ) -> AuthorityView:
        async with self.inv.db.read() as s:
            if await pki_repo.authority(s, actor.tenant, name) is not None:
                raise CaExists()
        now = self.inv.clock()
        key = signing.generate(key_type)
        issuer = await self._load(actor, parent) if parent else None
        not_after = now + timedelta(days=ttl_days)
        if issuer is not None and not_after > issuer[1].not_valid_after_utc:
            raise IssuanceRefused(reason="notAfterBeyondIssuer")
        cert = signing.ca_certificate(
            signing.name(cn),
            key,
            now - BACKDATE,
            not_after,
            issuer[1] if issuer else None,
            issuer[2] if issuer else None,
        )
        chain = (cert, *(issuer[3] if issuer else ()))
        stored = await self.inv.store(actor, Bundle(chain), None, source="authority")
        view = stored.certificates[0]
        sealed = await self.inv.sealer.seal(
            actor.tenant,
            Purpose.PKI_KEY,
            ("authority", name, view.fingerprint),
            keyfiles.key_der(key),
        )
        try:
            async with self.inv.db.transaction() as s:
                row = await pki_repo.by_fingerprint(s, actor.tenant, view.fingerprint)
                assert row is not None
                s.add(
                    CertificateAuthority(
                        tenant_id=actor.tenant,
                        name=name,
                        certificate_id=row.id,
                        parent_id=issuer[0].id if issuer else None,
                        sealed_key=sealed,
                        created_at=now,
                        created_by=actor.principal,
                    )
                )
                detail = {"parent": parent, "keyType": key_type, "certificate": view.fingerprint}
                self.inv.audit.record_in(
                    s,
                    AuditEvent(
                        actor, CertificateAction.CA_CREATE, Outcome.SUCCESS, name, detail=detail
                    ),
                )
        except IntegrityError:
            raise CaExists() from None
        return AuthorityView(name, view, parent, _pem(chain))

    async def _load(
        self, actor: Actor, name: str
    ) -> tuple[
        CertificateAuthority,
        x509.Certificate,
        CertificateIssuerPrivateKeyTypes,
        tuple[x509.Certificate, ...],
    ]:
        """(row, certificate, key, chain from the CA up) of an authority."""
        async with self.inv.db.read() as s:
            row = await pki_repo.authority(s, actor.tenant, name)
            if row is None:
                raise CaNotFound()
            cert_row = await pki_repo.by_id(s, row.certificate_id)
            assert cert_row is not None
            chain = [cert_row]
            parent_id = row.parent_id
            while parent_id is not None:
                up = await s.get(CertificateAuthority, parent_id)
                if up is None:
                    break
                up_cert = await pki_repo.by_id(s, up.certificate_id)
                assert up_cert is not None
                chain.append(up_cert)
                parent_id = up.parent_id
        fp = cert_row.fingerprint
        raw = await self.inv.sealer.open(
            actor.tenant, Purpose.PKI_KEY, ("authority", name, fp), row.sealed_key
        )
        certs = tuple(x509.load_der_x509_certificate(c.der) for c in chain)
        return row, certs[0], signing.signer(keyfiles.load_key(raw)), certs

    async def list(self, actor: Actor) -> list[AuthorityView]:
        self._on()
        out = []
        async with self.inv.db.read() as s:
            rows = await pki_repo.authorities(s, actor.tenant)
            parents = {r.id: r.name for r in rows}
            pairs = [(r, await pki_repo.by_id(s, r.certificate_id)) for r in rows]
        for r, c in pairs:
            assert c is not None
            view = await self.inv.get(actor, c.fingerprint)
            out.append(AuthorityView(r.name, view, parents.get(r.parent_id or -1), view.pem))
        return out

    # roles -----------------------------------------------------------------------
    async def put_role(
        self, actor: Actor, authority: str, name: str, policy: RolePolicy
    ) -> RolePolicy:
        self._on()
        async with audited(
            self.inv.audit, actor, CertificateAction.ROLE_WRITE, f"{authority}/{name}"
        ):
            if not NAME.fullmatch(name):
                raise InvalidInput("role name malformed")
            async with self.inv.db.transaction() as s:
                ca = await pki_repo.authority(s, actor.tenant, authority)
                if ca is None:
                    raise CaNotFound()
                row = await pki_repo.role(s, ca.id, name)
                if row is None:
                    row = CertificateRole(tenant_id=actor.tenant, authority_id=ca.id, name=name)
                    s.add(row)
                row.policy = policy.stored()
                row.updated_at, row.updated_by = self.inv.clock(), actor.principal
                self.inv.audit.record_in(
                    s,
                    AuditEvent(
                        actor,
                        CertificateAction.ROLE_WRITE,
                        Outcome.SUCCESS,
                        f"{authority}/{name}",
                        detail=policy.stored(),
                    ),
                )
        return policy

    async def roles(self, actor: Actor, authority: str) -> dict[str, RolePolicy]:
        self._on()
        async with self.inv.db.read() as s:
            ca = await pki_repo.authority(s, actor.tenant, authority)
            if ca is None:
                raise CaNotFound()
            return {r.name: RolePolicy.load(r.policy) for r in await pki_repo.roles(s, ca.id)}

    async def _role(self, actor: Actor, ca: CertificateAuthority, role: str) -> RolePolicy:
        async with self.inv.db.read() as s:
            row = await pki_repo.role(s, ca.id, role)
        if row is None:
            raise CaNotFound()
        return RolePolicy.load(row.policy)

    # issue, CRL ------------------------------------------------------------------
    async def issue(self, actor: Actor, authority: str, role: str, req: IssueRequest) -> Issued:
        self._on()
        async with audited(self.inv.audit, actor, CertificateAction.ISSUE, f"{authority}/{role}"):
            ca, ca_cert, ca_key, chain = await self._load(actor, authority)
            policy = await self._role(actor, ca, role)
            leaf, key = req.build(policy, ca_cert, ca_key, self.inv.clock())
            stored = await self.inv.store(
                actor, Bundle((leaf,), key), None, source="issued", action=CertificateAction.ISSUE
            )
        key_pem = (
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode("ascii")
            if key is not None
            else None
        )
        detail = await self.inv.get(actor, stored.leaf)  # with its PEM and chain
        return Issued(detail, _pem(chain), key_pem)

    async def crl(self, actor: Actor, authority: str) -> bytes:
        """The CA's CRL (DER), signed now: every revoked certificate it issued, expired
        ones included."""
        self._on()
        ca, ca_cert, ca_key, _ = await self._load(actor, authority)
        now = self.inv.clock()
        async with self.inv.db.read() as s:
            revoked = await pki_repo.revoked_by_issuer(s, actor.tenant, ca.certificate_id)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca_cert.subject)
            .last_update(now)
            .next_update(now + timedelta(hours=self.settings.crl_validity_hours))
            .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        for r in revoked:
            assert r.revoked_at is not None
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(int(r.serial, 16))
                .revocation_date(r.revoked_at)
            )
            reason = _REASON.get(r.revocation_reason or "")
            if reason is not None:
                entry = entry.add_extension(x509.CRLReason(reason), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        crl = builder.sign(ca_key, signing.digest(ca_key))
        return crl.public_bytes(serialization.Encoding.DER)


_REASON = {
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "caCompromise": x509.ReasonFlags.ca_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
    "certificateHold": x509.ReasonFlags.certificate_hold,
    "privilegeWithdrawn": x509.ReasonFlags.privilege_withdrawn,
}


def _pem(chain: tuple[x509.Certificate, ...]) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in chain)

"""The certificate inventory: import, list, read, export (with the private key),
revoke. Every action leaves one audit record; a private key is sealed before it is
stored (datakeys ``Purpose.PKI_KEY``, bound to the tenant and the certificate's
fingerprint) and leaves only through ``export``, which is audited before it answers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from sqlalchemy.exc import IntegrityError

from strongroom.audit.actions import CertificateAction
from strongroom.audit.audited import audited
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.config import PkiSettings
from strongroom.context import Actor
from strongroom.datakeys import Purpose, Sealer
from strongroom.errors import InvalidInput, InvalidQuery
from strongroom.pki import keyfiles, rows
from strongroom.pki.errors import (
    CertificateNotFound,
    KeyMismatch,
    NoPrivateKey,
    RenewalConflict,
)
from strongroom.pki.facts import Facts, facts_of, key_matches, san_candidates, utc
from strongroom.pki.models import CertificatePage, CertificateView, CertQuery, Exported, Imported
from strongroom.pki.parse import Bundle, parse_der, parse_pem, parse_pkcs12
from strongroom.store import pki_repo
from strongroom.store.db import Database

Format = Literal["pem", "der", "pkcs12"]
MAX_PAGE = 500
REASONS = frozenset(
    {"unspecified", "keyCompromise", "caCompromise", "affiliationChanged", "superseded"}
    | {"cessationOfOperation", "certificateHold", "privilegeWithdrawn"}
)


class CertificateInventory:
    def __init__(
        self,
        db: Database,
        audit: AuditSink,
        sealer: Sealer,
        settings: PkiSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db, self.audit, self.sealer = db, audit, sealer
        self.settings, self.clock = settings, clock
        self.key_reused: Callable[[Actor, str, str], None] = lambda *_: None  # pki/monitor.py

    # import --------------------------------------------------------------------
    async def import_bundle(
        self,
        actor: Actor,
        fmt: Format,
        data: bytes,
        password: str | None = None,
        renews: str | None = None,
        *,
        source: str = "import",
    ) -> Imported:
        async with audited(self.audit, actor, CertificateAction.IMPORT, renews):
            bundle = self._parse(fmt, data, password)
            return await self.store(actor, bundle, renews, source=source)

    def _parse(self, fmt: Format, data: bytes, password: str | None) -> Bundle:
        limit, pw = self.settings.max_import_bytes, password.encode() if password else None
        if fmt == "pem":
            return parse_pem(data, pw, limit)
        if fmt == "der":
            return parse_der(data, limit)
        return parse_pkcs12(data, pw, limit)

    async def store(
        self,
        actor: Actor,
        bundle: Bundle,
        renews: str | None,
        *,
        source: str = "import",
        action: CertificateAction = CertificateAction.IMPORT,
    ) -> Imported:
        """Index ``bundle`` (its key sealed); the leaf may renew ``renews`` or a match.
        One audit record, under ``action`` (the CA records its issuance so)."""
        facts = [facts_of(c) for c in bundle.certificates]
        leaf = _leaf(bundle, facts)
        sealed = await self._seal(actor.tenant, bundle.key, facts[leaf]) if bundle.key else None
        for attempt in (1, 2):
            try:
                return await self._store(
                    actor, bundle, facts, leaf, sealed, renews, (source, action)
                )
            except IntegrityError:
                # The same certificate imported concurrently: the retry finds it. A
                # second loss is a renewal race (lineage is linear): the caller's 409.
                if attempt == 2:
                    raise RenewalConflict() from None
        raise AssertionError("unreachable")

    async def _seal(self, tenant: str, key: PrivateKeyTypes, leaf: Facts) -> bytes:
        if not key_matches(key, leaf):
            raise KeyMismatch()
        return await self.sealer.seal(
            tenant, Purpose.PKI_KEY, ("certificate", leaf.fingerprint), keyfiles.key_der(key)
        )

    async def _store(
        self,
        actor: Actor,
        bundle: Bundle,
        facts: list[Facts],
        leaf: int,
        sealed: bytes | None,
        renews: str | None,
        how: tuple[str, CertificateAction],
    ) -> Imported:
        (source, action), now, tenant = how, self.clock(), actor.tenant
        created: list[bool] = []
        stored = []
        renewed = None
        async with self.db.transaction() as s:
            for i, (cert, f) in enumerate(zip(bundle.certificates, facts, strict=True)):
                row = await pki_repo.by_fingerprint(s, tenant, f.fingerprint)
                created.append(row is None)
                if row is None:
                    row = rows.new_row(
                        tenant, f, source if i == leaf else "import", actor.principal, now
                    )
                    await pki_repo.add(s, row, f.sans)
                    await rows.link_issuer(s, row, cert)
                    # A new CA is never another's renewal by name alone (names repeat).
                    if i == leaf and (renews is not None or source != "authority"):
                        renewed = await rows.link_renewal(s, row, f.san_values, renews)
                elif i == leaf and renews is not None:
                    # Versions are immutable: a link is made at import, never added later.
                    old = await pki_repo.by_fingerprint(s, tenant, renews)
                    if old is None or row.renewed_from_id != old.id:
                        raise RenewalConflict()
                if i == leaf and sealed is not None and not row.has_key:
                    await pki_repo.store_key(s, row, sealed, now)
                stored.append(row)
            await s.flush()
            detail: dict[str, Any] = {
                "certificates": len(stored),
                "created": sum(created),
                "withKey": sealed is not None,
                "source": stored[leaf].source,
            }
            if renewed is not None:
                detail |= {"renewedFrom": renewed.fingerprint, "keyReused": stored[leaf].key_reused}
            self.audit.record_in(
                s,
                AuditEvent(actor, action, Outcome.SUCCESS, facts[leaf].fingerprint, detail=detail),
            )
            out = await rows.views(s, stored)
        if renewed is not None and stored[leaf].key_reused:
            self.key_reused(actor, facts[leaf].fingerprint, renewed.fingerprint)
        return Imported(tuple(out), tuple(created), facts[leaf].fingerprint)

    # reads ---------------------------------------------------------------------
    async def list(self, actor: Actor, q: CertQuery) -> CertificatePage:
        if not 1 <= q.limit <= MAX_PAGE:
            raise InvalidQuery(details=[{"loc": ["query", "limit"], "maximum": MAX_PAGE}])
        f = pki_repo.CertFilter(
            expires_before=utc(q.expires_before) if q.expires_before else None,
            issuer=q.issuer.lower() if q.issuer else None,
            sans=san_candidates(q.san) if q.san else (),
            after=decode_cursor(q.cursor) if q.cursor else None,
            limit=q.limit + 1,
        )
        async with self.db.read() as s:
            found = await pki_repo.page(s, actor.tenant, f)
            items = await rows.views(s, found[: q.limit])
        more = len(found) > q.limit
        return CertificatePage(items, encode_cursor(items[-1]) if more else None)

    async def get(self, actor: Actor, fingerprint: str) -> CertificateView:
        async with self.db.read() as s:
            row = await pki_repo.by_fingerprint(s, actor.tenant, _fp(fingerprint))
            if row is None:
                raise CertificateNotFound()
            return await rows.detail_view(s, row)

    # export / revoke -----------------------------------------------------------
    async def export(
        self, actor: Actor, fingerprint: str, fmt: Literal["pem", "pkcs12"], password: str | None
    ) -> Exported:
        fp = _fp(fingerprint)
        async with audited(self.audit, actor, CertificateAction.EXPORT, fp):
            async with self.db.read() as s:
                row = await pki_repo.by_fingerprint(s, actor.tenant, fp)
                if row is None:
                    raise CertificateNotFound()
                blob = await pki_repo.sealed_key(s, row.id)
                chain = [
                    await pki_repo.by_fingerprint(s, actor.tenant, c)
                    for c in await rows.chain_of(s, row)
                ]
            if blob is None:
                raise NoPrivateKey()
            raw = await self.sealer.open(actor.tenant, Purpose.PKI_KEY, ("certificate", fp), blob)
            cert = x509.load_der_x509_certificate(row.der)
            issuers = [x509.load_der_x509_certificate(c.der) for c in chain if c is not None]
            data = keyfiles.export(fmt, cert, issuers, raw, password)
            # Before the key leaves: an export that cannot be recorded does not happen.
            await self.audit.append(
                AuditEvent(
                    actor, CertificateAction.EXPORT, Outcome.SUCCESS, fp, detail={"format": fmt}
                )
            )
        return Exported(fp, fmt, data)

    async def revoke(self, actor: Actor, fingerprint: str, reason: str) -> CertificateView:
        fp = _fp(fingerprint)
        async with audited(self.audit, actor, CertificateAction.REVOKE, fp):
            if reason not in REASONS:
                raise InvalidInput("unknown revocation reason")
            async with self.db.transaction() as s:
                row = await pki_repo.by_fingerprint(s, actor.tenant, fp)
                if row is None:
                    raise CertificateNotFound()
                # Expired certificates too: a CRL may still need to name them.
                changed = await pki_repo.revoke(s, row.id, self.clock(), reason)
                self.audit.record_in(
                    s,
                    AuditEvent(
                        actor,
                        CertificateAction.REVOKE,
                        Outcome.SUCCESS,
                        fp,
                        detail={"reason": reason, "already": not changed},
                    ),
                )
                await s.refresh(row)
                return await rows.detail_view(s, row)


def _leaf(bundle: Bundle, facts: list[Facts]) -> int:
    """The end-entity of a bundle: the key's certificate, else the first one that
    issued none of the others, else the first."""
    if bundle.key is not None:
        for i, f in enumerate(facts):
            if key_matches(bundle.key, f):
                return i
        raise KeyMismatch()
    issuers = {f.issuer_hash for f in facts if f.issuer_hash != f.subject_hash}
    for i, f in enumerate(facts):
        if f.subject_hash not in issuers:
            return i
    return 0


def _fp(fingerprint: str) -> str:
    fp = fingerprint.lower().replace(":", "")
    if len(fp) != 64 or any(c not in "0123456789abcdef" for c in fp):
        raise CertificateNotFound()
    return fp


def encode_cursor(v: CertificateView) -> str:
    """``<notAfter, Unix seconds>-<fingerprint>``: certificate times have whole seconds,
    so the cursor is exact, and any string of its pattern is a valid position."""
    return f"{int(v.not_after.timestamp())}-{v.fingerprint}"


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    seconds, _, fp = cursor.partition("-")
    try:
        at = datetime.fromtimestamp(int(seconds), UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidQuery(details=[{"loc": ["query", "cursor"], "type": "invalid"}]) from None
    if len(fp) != 64 or any(c not in "0123456789abcdef" for c in fp):
        raise InvalidQuery(details=[{"loc": ["query", "cursor"], "type": "invalid"}])
    return at, fp

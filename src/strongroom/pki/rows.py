"""Between the inventory's rows and the domain: building a row from a certificate's
facts, a view from a row, and the chain and renewal links found at import."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.pki.errors import CertificateNotFound, RenewalConflict
from strongroom.pki.facts import Facts, directly_issued_by
from strongroom.pki.models import CertificateView
from strongroom.store import pki_repo
from strongroom.store.models import Certificate

MAX_CHAIN = 10  # links followed up a chain (a loop or a silly chain stops here)


def new_row(tenant: str, f: Facts, source: str, actor: str, now: datetime) -> Certificate:
    return Certificate(
        tenant_id=tenant,
        fingerprint=f.fingerprint,
        subject=f.subject,
        issuer=f.issuer,
        issuer_search=f.issuer.lower(),
        subject_hash=f.subject_hash,
        issuer_hash=f.issuer_hash,
        serial=f.serial,
        key_algorithm=f.key_algorithm,
        key_size=f.key_size,
        not_before=f.not_before,
        not_after=f.not_after,
        is_ca=f.is_ca,
        ski=f.ski,
        aki=f.aki,
        spki_sha256=f.spki_sha256,
        der=f.der,
        source=source,
        key_reused=False,
        has_key=False,
        created_at=now,
        created_by=actor,
    )


def view(
    row: Certificate,
    sans: Sequence[tuple[str, str]],
    links: tuple[str | None, ...] = (None, None, None),
    *,
    detail: bool = False,
    chain: tuple[str, ...] = (),
) -> CertificateView:
    return CertificateView(
        fingerprint=row.fingerprint,
        subject=row.subject,
        issuer=row.issuer,
        serial=row.serial,
        key_algorithm=row.key_algorithm,
        key_size=row.key_size,
        not_before=row.not_before,
        not_after=row.not_after,
        sans=tuple(sans),
        is_ca=row.is_ca,
        source=row.source,
        has_key=row.has_key,
        key_reused=row.key_reused,
        revoked_at=row.revoked_at,
        revocation_reason=row.revocation_reason,
        created_at=row.created_at,
        issuer_fingerprint=links[0],
        renewed_from=links[1],
        renewed_by=links[2],
        der=row.der if detail else b"",
        chain=chain,
    )


async def views(s: AsyncSession, rows: Sequence[Certificate]) -> list[CertificateView]:
    ids = [r.id for r in rows]
    sans, links = await pki_repo.sans_of(s, ids), await pki_repo.links_of(s, ids)
    return [view(r, sans[r.id], links.get(r.id, (None, None, None))) for r in rows]


async def detail_view(s: AsyncSession, row: Certificate) -> CertificateView:
    sans, links = await pki_repo.sans_of(s, [row.id]), await pki_repo.links_of(s, [row.id])
    return view(row, sans[row.id], links[row.id], detail=True, chain=await chain_of(s, row))


async def chain_of(s: AsyncSession, row: Certificate) -> tuple[str, ...]:
    out: list[str] = []
    seen = {row.id}
    current = row
    while current.issuer_id is not None and len(out) < MAX_CHAIN:
        parent = await pki_repo.by_id(s, current.issuer_id)
        if parent is None or parent.id in seen:
            break
        out.append(parent.fingerprint)
        seen.add(parent.id)
        current = parent
    return tuple(out)


async def link_issuer(s: AsyncSession, row: Certificate, cert: x509.Certificate) -> None:
    """Link ``row`` to its issuer if the inventory holds it; link certificates that
    were waiting for ``row`` as their issuer. A self-signed root has no issuer link."""
    for parent in await pki_repo.candidates_by_subject(s, row.tenant_id, row.issuer_hash):
        if parent.id != row.id and directly_issued_by(cert, _cert(parent)):
            row.issuer_id = parent.id
            break
    if row.is_ca:
        for orphan in await pki_repo.orphans_of(s, row.tenant_id, row.subject_hash):
            if orphan.id != row.id and directly_issued_by(_cert(orphan), cert):
                orphan.issuer_id = row.id


async def link_renewal(
    s: AsyncSession, row: Certificate, sans: frozenset[str], renews: str | None
) -> Certificate | None:
    """The certificate ``row`` renews: the one named, or else the newest with the same
    subject and the same SANs that expires earlier and is not renewed yet. Linking
    never changes the old certificate (and never revokes it)."""
    if renews is not None:
        old = await pki_repo.by_fingerprint(s, row.tenant_id, renews)
        if old is None or old.id == row.id:
            raise CertificateNotFound()
        if await pki_repo.renewal_of(s, old.id) is not None:
            raise RenewalConflict()
    else:
        old = await _detect(s, row, sans)
        if old is None:
            return None
    row.renewed_from_id = old.id
    row.key_reused = old.spki_sha256 == row.spki_sha256
    return old


async def _detect(s: AsyncSession, row: Certificate, sans: frozenset[str]) -> Certificate | None:
    candidates = await pki_repo.candidates_by_subject(s, row.tenant_id, row.subject_hash)
    eligible = [c for c in candidates if c.id != row.id and c.not_after < row.not_after]
    if not eligible:
        return None
    by_id = await pki_repo.sans_of(s, [c.id for c in eligible])
    for c in eligible:  # newest first
        if (
            frozenset(v for _, v in by_id[c.id]) == sans
            and await pki_repo.renewal_of(s, c.id) is None
        ):
            return c
    return None


def _cert(row: Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(row.der)

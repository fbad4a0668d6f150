"""SQL for certificates (pki/). Functions take the caller's session (and transaction)
and always filter by tenant (row-level security does too, on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from strongroom.store.models import (
    Certificate,
    CertificateAuthority,
    CertificateKey,
    CertificateRole,
    CertificateSan,
)


@dataclass(frozen=True)
class CertFilter:
    expires_before: datetime | None = None
    issuer: str | None = None  # lower-case substring of the issuer name
    sans: tuple[str, ...] = ()  # any of these SAN values (lower-case)
    after: tuple[datetime, str] | None = None  # the cursor: (not_after, fingerprint)
    limit: int = 100


# Built once: an alias builds column proxies of the whole table (measurable per call).
_PARENT, _OLDER, _NEWER = aliased(Certificate), aliased(Certificate), aliased(Certificate)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def page(s: AsyncSession, tenant: str, f: CertFilter) -> Sequence[Certificate]:
    """Certificates in (not_after, fingerprint) order matching every given filter."""
    q = select(Certificate).where(Certificate.tenant_id == tenant)
    if f.expires_before is not None:
        q = q.where(Certificate.not_after < f.expires_before)
    if f.issuer:
        q = q.where(Certificate.issuer_search.like(_like(f.issuer), escape="\\"))
    if f.sans:
        q = q.where(
            exists().where(
                CertificateSan.certificate_id == Certificate.id,
                CertificateSan.tenant_id == tenant,
                CertificateSan.value.in_(f.sans),
            )
        )
    if f.after is not None:
        na, fp = f.after
        q = q.where(
            or_(
                Certificate.not_after > na,
                and_(Certificate.not_after == na, Certificate.fingerprint > fp),
            )
        )
    q = q.order_by(Certificate.not_after, Certificate.fingerprint).limit(f.limit)
    return (await s.execute(q)).scalars().all()


async def by_fingerprint(s: AsyncSession, tenant: str, fp: str) -> Certificate | None:
    q = select(Certificate).where(Certificate.tenant_id == tenant, Certificate.fingerprint == fp)
    return (await s.execute(q)).scalar_one_or_none()


async def by_id(s: AsyncSession, cert_id: int) -> Certificate | None:
    return await s.get(Certificate, cert_id)


async def sans_of(s: AsyncSession, ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
    if not ids:
        return out
    q = (
        select(CertificateSan.certificate_id, CertificateSan.kind, CertificateSan.value)
        .where(CertificateSan.certificate_id.in_(ids))
        .order_by(CertificateSan.id)
    )
    for cid, kind, value in (await s.execute(q)).all():
        out[cid].append((kind, value))
    return out


async def links_of(s: AsyncSession, ids: Sequence[int]) -> dict[int, tuple[str | None, ...]]:
    """id -> (issuer's fingerprint, renewed-from's, renewed-by's) for the chain and
    rotation links of each certificate."""
    if not ids:
        return {}
    parent, older, newer = _PARENT, _OLDER, _NEWER
    q = (
        select(Certificate.id, parent.fingerprint, older.fingerprint, newer.fingerprint)
        .outerjoin(parent, parent.id == Certificate.issuer_id)
        .outerjoin(older, older.id == Certificate.renewed_from_id)
        .outerjoin(newer, newer.renewed_from_id == Certificate.id)
        .where(Certificate.id.in_(ids))
    )
    return {row[0]: tuple(row[1:]) for row in (await s.execute(q)).all()}


async def candidates_by_subject(
    s: AsyncSession, tenant: str, subject_hash: str
) -> Sequence[Certificate]:
    q = select(Certificate).where(
        Certificate.tenant_id == tenant, Certificate.subject_hash == subject_hash
    )
    return (await s.execute(q.order_by(Certificate.not_after.desc()))).scalars().all()


async def orphans_of(s: AsyncSession, tenant: str, issuer_hash: str) -> Sequence[Certificate]:
    """Certificates naming this issuer whose issuer is not linked yet."""
    q = select(Certificate).where(
        Certificate.tenant_id == tenant,
        Certificate.issuer_hash == issuer_hash,
        Certificate.issuer_id.is_(None),
    )
    return (await s.execute(q)).scalars().all()


async def renewal_of(s: AsyncSession, cert_id: int) -> Certificate | None:
    q = select(Certificate).where(Certificate.renewed_from_id == cert_id)
    return (await s.execute(q)).scalar_one_or_none()


async def add(s: AsyncSession, row: Certificate, sans: Sequence[tuple[str, str]]) -> None:
    s.add(row)
    await s.flush()  # the row's id, for its SANs
    s.add_all(
        CertificateSan(certificate_id=row.id, tenant_id=row.tenant_id, kind=k, value=v)
        for k, v in sans
    )


async def store_key(s: AsyncSession, cert: Certificate, sealed: bytes, now: datetime) -> None:
    s.add(
        CertificateKey(
            certificate_id=cert.id, tenant_id=cert.tenant_id, sealed=sealed, created_at=now
        )
    )
    cert.has_key = True


async def sealed_key(s: AsyncSession, cert_id: int) -> bytes | None:
    row = await s.get(CertificateKey, cert_id)
    return row.sealed if row is not None else None


async def revoke(s: AsyncSession, cert_id: int, when: datetime, reason: str) -> bool:
    """Mark revoked once; False when it already was."""
    q = (
        update(Certificate)
        .where(Certificate.id == cert_id, Certificate.revoked_at.is_(None))
        .values(revoked_at=when, revocation_reason=reason)
    )
    return bool((await s.execute(q)).rowcount)  # type: ignore[attr-defined]


async def monitored(s: AsyncSession) -> Sequence[Certificate]:
    """Every tenant's unrevoked certificates not yet renewed (system scope)."""
    newer = _NEWER
    q = select(Certificate).where(
        Certificate.revoked_at.is_(None),
        ~exists().where(newer.renewed_from_id == Certificate.id),
    )
    return (await s.execute(q.order_by(Certificate.not_after))).scalars().all()


async def chain_links(s: AsyncSession) -> dict[int, tuple[int | None, datetime, str]]:
    """id -> (issuer_id, not_after, fingerprint) of every certificate, for chain walks."""
    q = select(
        Certificate.id, Certificate.issuer_id, Certificate.not_after, Certificate.fingerprint
    )
    return {r[0]: (r[1], r[2], r[3]) for r in (await s.execute(q)).all()}


# --- internal CA -----------------------------------------------------------------
async def authority(s: AsyncSession, tenant: str, name: str) -> CertificateAuthority | None:
    q = select(CertificateAuthority).where(
        CertificateAuthority.tenant_id == tenant, CertificateAuthority.name == name
    )
    return (await s.execute(q)).scalar_one_or_none()


async def authorities(s: AsyncSession, tenant: str) -> Sequence[CertificateAuthority]:
    q = select(CertificateAuthority).where(CertificateAuthority.tenant_id == tenant)
    return (await s.execute(q.order_by(CertificateAuthority.name))).scalars().all()


async def role(s: AsyncSession, authority_id: int, name: str) -> CertificateRole | None:
    q = select(CertificateRole).where(
        CertificateRole.authority_id == authority_id, CertificateRole.name == name
    )
    return (await s.execute(q)).scalar_one_or_none()


async def roles(s: AsyncSession, authority_id: int) -> Sequence[CertificateRole]:
    q = select(CertificateRole).where(CertificateRole.authority_id == authority_id)
    return (await s.execute(q.order_by(CertificateRole.name))).scalars().all()


async def revoked_by_issuer(
    s: AsyncSession, tenant: str, issuer_cert_id: int
) -> Sequence[Certificate]:
    q = select(Certificate).where(
        Certificate.tenant_id == tenant,
        Certificate.issuer_id == issuer_cert_id,
        Certificate.revoked_at.is_not(None),
    )
    return (await s.execute(q.order_by(Certificate.id))).scalars().all()

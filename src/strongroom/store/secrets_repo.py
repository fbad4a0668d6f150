"""SQL for the vault (secrets/). Functions take the caller's session (and transaction).

Writes claim the secret row first (``claim``: a compare-and-set on the version the
caller read, the transaction's first write): on SQLite it takes the write lock before
any read snapshot exists, on PostgreSQL it waits on the row lock and re-checks the
condition, so of racing writers with the same expectation exactly one wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import RowMapping, Table, and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from strongroom.store.models import Secret, SecretMeta, SecretValue, SecretVersion

_SECRETS = cast(Table, Secret.__table__)
_VERSIONS = cast(Table, SecretVersion.__table__)
_VALUES = cast(Table, SecretValue.__table__)
_S_COLS = list(_SECRETS.columns)
_V_COLS = list(_VERSIONS.columns)


def _values(row: Secret | SecretVersion) -> dict[str, object]:
    """A new row's column values (unset ones left to the column defaults), for a Core
    INSERT: no unit-of-work flush on the write path (bench/README, "the write path")."""
    cols = row.__table__.columns
    return {c.key: v for c in cols if c.key != "id" and (v := getattr(row, c.key)) is not None}


def _secret(row: RowMapping) -> Secret:
    """A detached ``Secret`` from a Core row of its columns."""
    return Secret(**{c.key: row[c.key] for c in _S_COLS})


def _version(row: RowMapping, prefix: str = "") -> SecretVersion:
    """A detached ``SecretVersion`` from a Core row (its columns labelled ``prefix`` + key)."""
    return SecretVersion(**{c.key: row[prefix + c.key] for c in _V_COLS})


async def find_secret(conn: AsyncConnection, tenant: str, path: str) -> Secret | None:
    """``get_secret`` as one Core query: the row comes back as a detached model object."""
    q = select(*_S_COLS).where(Secret.tenant_id == tenant, Secret.path == path)
    row = (await conn.execute(q)).mappings().first()
    return _secret(row) if row is not None else None


async def version_by_token(
    conn: AsyncConnection, secret_id: int, token: str
) -> SecretVersion | None:
    """``by_token`` as one Core query (detached)."""
    q = select(*_V_COLS).where(
        SecretVersion.secret_id == secret_id, SecretVersion.request_token == token
    )
    row = (await conn.execute(q)).mappings().first()
    return _version(row) if row is not None else None


async def get_secret(s: AsyncSession, tenant: str, path: str) -> Secret | None:
    q = select(Secret).where(Secret.tenant_id == tenant, Secret.path == path)
    return (await s.execute(q)).scalar_one_or_none()


async def lock_secret(s: AsyncSession, tenant: str, path: str, now: datetime) -> Secret | None:
    """Touch the row (the transaction's first write takes the lock), then read it."""
    q = update(Secret).where(Secret.tenant_id == tenant, Secret.path == path).values(updated_at=now)
    if not (await s.execute(q)).rowcount:  # type: ignore[attr-defined]
        return None
    return await get_secret(s, tenant, path)


async def get_version(s: AsyncSession, secret_id: int, version: int) -> SecretVersion | None:
    q = select(SecretVersion).where(
        SecretVersion.secret_id == secret_id, SecretVersion.version == version
    )
    return (await s.execute(q)).scalar_one_or_none()


async def read_version(
    conn: AsyncConnection, tenant: str, path: str, version: int | None, label: str | None
) -> tuple[Secret, SecretVersion, bytes | None] | None:
    """The secret, the version a read names (``version``, else the ``label``ed one:
    ``current`` by default) and its sealed value (None once destroyed), in one Core
    query (the read path's only round trip; no ORM session). The rows come back as
    detached model objects."""
    if version is not None:
        which = SecretVersion.version == version
    else:
        column = {
            "pending": Secret.pending_version,
            "previous": Secret.previous_version,
        }.get(label or "", Secret.current_version)
        which = SecretVersion.version == column
    q = (
        select(*_S_COLS, *[c.label(f"v_{c.key}") for c in _V_COLS], SecretValue.sealed)
        .select_from(Secret)
        .join(SecretVersion, and_(SecretVersion.secret_id == Secret.id, which))
        .outerjoin(SecretValue, SecretValue.version_id == SecretVersion.id)
        .where(Secret.tenant_id == tenant, Secret.path == path)
    )
    row = (await conn.execute(q)).mappings().first()
    if row is None:
        return None
    return _secret(row), _version(row, "v_"), row["sealed"]


async def versions(s: AsyncSession, secret_id: int) -> Sequence[SecretVersion]:
    q = select(SecretVersion).where(SecretVersion.secret_id == secret_id)
    return (await s.execute(q.order_by(SecretVersion.version))).scalars().all()


async def insert_secret(s: AsyncSession, row: Secret) -> int:
    """A new secret row (``row`` stays detached, its ``id`` set); a duplicate path
    raises ``IntegrityError``."""
    q = insert(_SECRETS).values(**_values(row)).returning(_SECRETS.c.id)
    row.id = int((await s.execute(q)).scalar_one())
    return row.id


async def claim(
    s: AsyncSession, secret_id: int, expect_latest: int, expect_current: int, **values: object
) -> bool:
    q = (
        update(Secret)
        .where(
            Secret.id == secret_id,
            Secret.latest_version == expect_latest,
            Secret.current_version == expect_current,
        )
        .values(**values)
    )
    return bool((await s.execute(q)).rowcount == 1)  # type: ignore[attr-defined]


async def relabel(s: AsyncSession, secret_id: int, expect_current: int, **values: object) -> bool:
    """Move the staging labels if ``current`` is still what the caller read."""
    q = (
        update(Secret)
        .where(Secret.id == secret_id, Secret.current_version == expect_current)
        .values(**values)
    )
    return bool((await s.execute(q)).rowcount == 1)  # type: ignore[attr-defined]


async def touch(s: AsyncSession, secret_id: int, **values: object) -> None:
    await s.execute(update(Secret).where(Secret.id == secret_id).values(**values))


async def add_version(s: AsyncSession, row: SecretVersion, sealed: bytes) -> None:
    """The version (``row`` stays detached, its ``id`` set) and its sealed value."""
    q = insert(_VERSIONS).values(**_values(row)).returning(_VERSIONS.c.id)
    row.id = int((await s.execute(q)).scalar_one())
    await s.execute(insert(_VALUES).values(version_id=row.id, sealed=sealed))


async def prune(s: AsyncSession, secret_id: int, below: int) -> int:
    """Delete versions numbered below ``below`` (their sealed values cascade)."""
    if below <= 1:  # versions start at 1: nothing to look for (a young secret's write)
        return 0
    old = select(SecretVersion.id).where(
        SecretVersion.secret_id == secret_id, SecretVersion.version < below
    )
    ids = list((await s.execute(old)).scalars().all())
    if ids:
        await s.execute(delete(SecretValue).where(SecretValue.version_id.in_(ids)))
        await s.execute(delete(SecretVersion).where(SecretVersion.id.in_(ids)))
    return len(ids)


async def mark(
    s: AsyncSession, secret_id: int, numbers: Iterable[int], **values: object
) -> list[int]:
    """Set ``values`` on the versions ``numbers`` that are not destroyed; the numbers hit."""
    q = select(SecretVersion.version).where(
        SecretVersion.secret_id == secret_id,
        SecretVersion.version.in_(list(numbers)),
        SecretVersion.destroyed_at.is_(None),
    )
    hit = sorted((await s.execute(q)).scalars().all())
    if hit:
        await s.execute(
            update(SecretVersion)
            .where(SecretVersion.secret_id == secret_id, SecretVersion.version.in_(hit))
            .values(**values)
        )
    return hit


async def destroy(
    s: AsyncSession, secret_id: int, numbers: Iterable[int], now: datetime
) -> list[int]:
    """Delete the sealed values of ``numbers``; the versions stay, marked destroyed."""
    hit = await mark(s, secret_id, numbers, destroyed_at=now)
    if hit:
        ids = select(SecretVersion.id).where(
            SecretVersion.secret_id == secret_id, SecretVersion.version.in_(hit)
        )
        await s.execute(delete(SecretValue).where(SecretValue.version_id.in_(ids)))
    return hit


async def delete_secret(s: AsyncSession, secret_id: int) -> None:
    """The secret, every version and sealed value, and its metadata rows."""
    ids = select(SecretVersion.id).where(SecretVersion.secret_id == secret_id)
    await s.execute(delete(SecretValue).where(SecretValue.version_id.in_(ids)))
    await s.execute(delete(SecretVersion).where(SecretVersion.secret_id == secret_id))
    await s.execute(delete(SecretMeta).where(SecretMeta.secret_id == secret_id))
    await s.execute(delete(Secret).where(Secret.id == secret_id))


async def replace_meta(s: AsyncSession, tenant: str, secret_id: int, meta: dict[str, str]) -> None:
    await s.execute(delete(SecretMeta).where(SecretMeta.secret_id == secret_id))
    for k, v in meta.items():
        s.add(SecretMeta(secret_id=secret_id, key=k, tenant_id=tenant, value=v))


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def page(
    s: AsyncSession,
    tenant: str,
    prefixes: Sequence[str] | None,
    meta: Sequence[tuple[str, str]],
    after: str | None,
    limit: int,
) -> list[str]:
    """Paths of ``tenant`` in path order after ``after``, starting with one of
    ``prefixes`` (None: any), carrying every ``meta`` pair."""
    q = select(Secret.path).where(Secret.tenant_id == tenant)
    if prefixes is not None:
        if not prefixes:
            return []
        q = q.where(or_(*(Secret.path.like(_like_prefix(p), escape="\\") for p in prefixes)))
    for k, v in meta:
        # An uncorrelated IN: the database reads the (tenant, key, value) index once
        # per pair and tests membership while it walks the paths in order.
        q = q.where(
            Secret.id.in_(
                select(SecretMeta.secret_id).where(
                    SecretMeta.tenant_id == tenant, SecretMeta.key == k, SecretMeta.value == v
                )
            )
        )
    if after is not None:
        q = q.where(Secret.path > after)
    q = q.order_by(Secret.path).limit(limit)
    return list((await s.execute(q)).scalars().all())


async def expiring(
    s: AsyncSession, before: datetime, after: datetime
) -> list[tuple[str, str, int, datetime]]:
    """(tenant, path, version, expiresAt) of live versions expiring in (after, before]."""
    q = (
        select(Secret.tenant_id, Secret.path, SecretVersion.version, SecretVersion.expires_at)
        .join(Secret, Secret.id == SecretVersion.secret_id)
        .where(
            SecretVersion.expires_at.is_not(None),
            SecretVersion.expires_at <= before,
            SecretVersion.expires_at > after,
            SecretVersion.destroyed_at.is_(None),
            SecretVersion.deleted_at.is_(None),
        )
    )
    return [(t, p, int(v), e) for t, p, v, e in (await s.execute(q)).all() if e is not None]

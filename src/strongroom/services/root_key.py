"""Before the KMS is built: the local master key must be the key the data needs.

A mistyped ``STRONGROOM_MASTER_KEY_FILE`` used to create a fresh key beside a full
database, after which every call answered "key service failure" (and the new file
blocked ``kms import-recovery`` at that path). The wrapped rows record which root key
wrapped them (store/wrapped_repo.py), so the mistake is caught at start instead: a key
file is created only when no row needs a local key and the database is empty (or
another backend, in ``STRONGROOM_KMS_PREVIOUS``, reads what is there), and an existing
file must hold a key that wrapped some of the rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from strongroom.config import KmsSettings, Settings
from strongroom.errors import DatabaseUnavailable
from strongroom.kms.factory import build_kms
from strongroom.kms.local import (
    SETTING,
    LocalKms,
    MasterKeyFileError,
    create_master_key_file,
    read_master_key_file,
)
from strongroom.store.db import Database
from strongroom.store.tenancy import enter_system_scope
from strongroom.store.wrapped_repo import count_by_key_ref

DATABASE_SETTING = "STRONGROOM_DATABASE_URL"


async def wrapped_key_refs(db: Database) -> dict[str, int]:
    """Rows per root key reference; empty for a database not migrated yet."""
    async with db.read() as s:
        migrated = await s.run_sync(lambda ss: inspect(ss.connection()).has_table("service_keys"))
        if not migrated:
            return {}
        return {ref: n for ref, n in (await count_by_key_ref(s)).items() if n}


def _needed(refs: dict[str, int], local: list[str]) -> str:
    return ", ".join(f"{ref} ({refs[ref]} rows)" for ref in local)


async def check_master_key(settings: KmsSettings, db: Database, *, create: bool) -> bool:
    """Raise ``MasterKeyFileError`` naming both key ids when the local key file is not
    the key the data needs; with ``create``, write a missing file if nothing needs one.
    True if a file was created."""
    refs = await wrapped_key_refs(db)  # also the first contact with the database
    if "local" not in (settings.backend, *settings.previous):
        return False
    path = settings.master_key_file
    local = sorted(ref for ref in refs if ref.startswith("local:"))
    if not path.exists() and not path.is_symlink():
        if local:
            raise MasterKeyFileError(
                f"master key file not found: {path} ({SETTING}), but the database holds "
                f"keys wrapped under {_needed(refs, local)}; point {SETTING} at that key "
                "or rebuild it with 'strongroom kms import-recovery' (no key was created)"
            )
        if not create or settings.backend != "local":  # a reader never needs a new key
            read_master_key_file(path)  # the usual "not found" error
        if refs and not settings.previous:
            raise MasterKeyFileError(
                f"master key file not found: {path} ({SETTING}), and the database holds "
                f"keys wrapped under {', '.join(sorted(refs))}: a new local key could not "
                "open them (no key was created)"
            )
        try:
            return create_master_key_file(path)
        except OSError as exc:
            raise MasterKeyFileError(
                f"master key file {path} ({SETTING}) cannot be created: {exc.strerror}"
            ) from None
    ours = LocalKms(read_master_key_file(path)).key_ref
    if local and ours not in local:
        raise MasterKeyFileError(
            f"master key file {path} ({SETTING}) holds key {ours}, but the database's keys "
            f"are wrapped under {_needed(refs, local)}; point {SETTING} at that key"
        )
    return False


class DatabaseUnreachable(Exception):
    """``STRONGROOM_DATABASE_URL`` does not parse, or its database cannot be reached."""


def _reason(exc: BaseException, url: str) -> str:
    # The driver's own words (first line: SQLAlchemy appends the statement and a link),
    # never the URL or its password.
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = (str(orig).strip() or type(orig).__name__).splitlines()[0]
    for secret in {url, make_url(url).password or url}:
        text = text.replace(str(secret), "[redacted]")
    return text


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[Database]:
    url = settings.database.url
    try:
        db = Database(url)
    except ArgumentError as exc:
        raise DatabaseUnreachable(f"{DATABASE_SETTING} is not a database URL: {exc}") from None
    _sqlite_directory(url)
    enter_system_scope()  # the wrapped rows of every tenant (row-level security)
    try:
        yield db
    except (OSError, SQLAlchemyError, DatabaseUnavailable) as exc:
        # store/unavailable.py turns a refused connection into DatabaseUnavailable (the
        # 503 of a running service); the operator wants the driver's reason here.
        cause = exc.__cause__ if isinstance(exc, DatabaseUnavailable) and exc.__cause__ else exc
        raise DatabaseUnreachable(
            f"cannot reach the database ({DATABASE_SETTING}): {_reason(cause, url)}"
        ) from None
    finally:
        await db.dispose()


def _sqlite_directory(url: str) -> None:
    # Checked here: aiosqlite's failed connect leaves its thread reporting to a closed
    # event loop (a traceback after the one line).
    u = make_url(url)
    name = u.database or ""
    if u.get_backend_name() != "sqlite" or name in ("", ":memory:") or name.startswith("file:"):
        return
    if not Path(name).parent.is_dir():
        raise DatabaseUnreachable(
            f"cannot reach the database ({DATABASE_SETTING}): "
            f"directory {Path(name).parent} does not exist"
        )


async def prepare_root_key(settings: Settings, *, create: bool) -> bool:
    """What a command checks before building the services: the database answers and the
    local master key is the one the data needs (created first when ``create`` and none
    is needed). True if a key file was created."""
    async with _database(settings) as db:
        return await check_master_key(settings.kms, db, create=create)


@dataclass(frozen=True)
class RootKeyStatus:
    target: str | None  # the configured root key's reference; None if it cannot be read
    by_key_ref: dict[str, int]  # wrapped rows per root key reference: what the data needs
    problem: str | None  # why the configured key cannot open the data, if it cannot


async def root_key_status(settings: Settings) -> RootKeyStatus:
    """Read without the key: a missing or wrong key is what this is asked about."""
    async with _database(settings) as db:
        refs = await wrapped_key_refs(db)
        try:
            await check_master_key(settings.kms, db, create=False)
        except MasterKeyFileError as exc:
            return RootKeyStatus(None, refs, str(exc))
    kms = build_kms(settings.kms)
    try:
        await kms.health()  # as rewrap does: remote backends learn their newest version
        return RootKeyStatus(kms.key_ref, refs, None)
    finally:
        await kms.close()

"""Which tenant's rows the current task may see in PostgreSQL (row-level security).

Refuses by default: a task that never chose a scope sees no tenant's rows (the
sentinel ``NONE`` can never equal a tenant id, so the policies of migration 0007
match nothing). A request chooses its tenant right after authentication (the access
guard, access/guard.py) — or ``ALL`` for principals granted across tenants. System
work takes the explicit path: ``system_scope()`` around a step (authentication looks
up credentials before it knows their tenant) or ``enter_system_scope()`` at the top
of a background task, the app's lifespan or a CLI command; tasks it creates inherit
it. Tasks a request spawns for system work start from ``system_context()`` so they do
not inherit the request's tenant.

Applied by the database layer at the start of every ORM transaction as the
transaction-local setting ``strongroom.tenant``. SQLite has no roles: there,
isolation rests on the tenant filters in code.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

ALL = "*"
NONE = "!none"  # no tenant id matches: tenant ids are [A-Za-z0-9._-]
_tenant: contextvars.ContextVar[str] = contextvars.ContextVar("strongroom_db_tenant", default=NONE)


def set_tenant(tenant: str) -> None:
    """Scope this task's database access (and tasks it spawns) to ``tenant``."""
    _tenant.set(tenant)


def current_tenant() -> str:
    return _tenant.get()


def enter_system_scope() -> None:
    """From here on this task (and what it spawns) does system work: every tenant."""
    _tenant.set(ALL)


@contextlib.contextmanager
def system_scope() -> Iterator[None]:
    """Every tenant inside the block; the caller's scope afterwards."""
    token = _tenant.set(ALL)
    try:
        yield
    finally:
        _tenant.reset(token)


@contextlib.contextmanager
def isolated_scope() -> Iterator[None]:
    """Whatever a request sets inside, the caller's scope is restored after it (an
    in-process ASGI client runs the app in the caller's own task)."""
    token = _tenant.set(_tenant.get())
    try:
        yield
    finally:
        _tenant.reset(token)


def system_context() -> contextvars.Context:
    """A context for system work started from inside a request: every tenant."""
    ctx = contextvars.copy_context()
    ctx.run(_tenant.set, ALL)
    return ctx

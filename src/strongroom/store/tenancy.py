"""Which tenant's rows the current task may see in PostgreSQL (row-level security).

Set once per request, right after authentication (api/deps.py), to the request's
tenant — or to ``ALL`` for principals granted across tenants — and applied by the
database layer at the start of every ORM transaction as the transaction-local
setting ``strongroom.tenant``, which the policies of migration 0007 compare with
each row's tenant. So a query that forgets its tenant filter still returns only the
request tenant's rows. Background work (change feed, scheduler, audit writer, CLI)
runs with ``ALL``; tasks a request spawns for system work start from
``system_context()`` so they do not inherit the request's tenant.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

ALL = "*"
_tenant: contextvars.ContextVar[str] = contextvars.ContextVar("strongroom_db_tenant", default=ALL)


def set_tenant(tenant: str) -> None:
    """Scope this task's database access (and tasks it spawns) to ``tenant``."""
    _tenant.set(tenant)


def current_tenant() -> str:
    return _tenant.get()


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

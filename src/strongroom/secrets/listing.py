"""Listing a tenant's secrets, filtered by what the caller may read.

Names the caller may not read never appear: each candidate is checked with the
caller's own permission predicate (the edge hands it in from the access guard),
after the database has narrowed the candidates by the caller's grant prefixes, the
requested prefix and the ``meta.k=v`` filter. Paging is by path with an opaque
cursor that is sealed (bound to the tenant and the caller), because the last path
examined may be one the caller may not see.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence

from strongroom.audit.actions import SecretAction
from strongroom.context import Actor
from strongroom.datakeys import Purpose, SealedDataInvalid
from strongroom.errors import InvalidQuery
from strongroom.secrets.core import SecretCore
from strongroom.secrets.models import (
    MAX_FILTER_PAIRS,
    MAX_META_KEY,
    MAX_META_VALUE,
    ListPage,
)
from strongroom.store import secrets_repo as repo

MAX_PAGE = 1000
_BATCH = 500
_MAX_BATCHES = 20  # then a short page with a cursor: a listing never scans unbounded
_CURSOR = "list-cursor"


def _narrow(grants: Sequence[str] | None, prefix: str) -> list[str] | None:
    """The database prefixes: inside both the requested prefix and a grant's."""
    if grants is None:
        return [prefix] if prefix else None
    out = set()
    for g in grants:
        if g.startswith(prefix):
            out.add(g)
        elif prefix.startswith(g):
            out.add(prefix)
    return sorted(out)


class SecretListing:
    def __init__(self, core: SecretCore) -> None:
        self._c = core

    async def list(
        self,
        actor: Actor,
        visible: Callable[[str], bool],
        reach: Sequence[str] | None,
        prefix: str = "",
        meta: Sequence[tuple[str, str]] = (),
        cursor: str | None = None,
        limit: int = 100,
    ) -> ListPage:
        """``visible``: may the caller read this path; ``reach``: literal prefixes every
        visible path starts with (None: any)."""
        if len(meta) > MAX_FILTER_PAIRS:
            raise InvalidQuery("too many metadata filters", limit=MAX_FILTER_PAIRS)
        if any(not k or len(k) > MAX_META_KEY or len(v) > MAX_META_VALUE for k, v in meta):
            raise InvalidQuery("bad metadata filter")
        limit = max(1, min(limit, MAX_PAGE))
        after = await self._open_cursor(actor, cursor) if cursor else None
        prefixes = _narrow(reach, prefix)
        found: list[str] = []
        last: str | None = None
        more = True
        # A little beyond the page: most callers see most of what they may list.
        size = min(_BATCH, 2 * limit + 1)
        for _ in range(_MAX_BATCHES):
            async with self._c.db.read() as s:
                batch = await repo.page(s, actor.tenant, prefixes, meta, after, size)
            for path in batch:
                last = path
                if visible(path):
                    found.append(path)
                    if len(found) == limit:
                        break
            if len(found) == limit:
                more = last != batch[-1] or len(batch) == size
                break
            if len(batch) < size:
                more = False
                break
            after = batch[-1]
        next_cursor = await self._seal_cursor(actor, last) if more and last else None
        await self._c.audit.append_before_release(  # held at the edge (audit/release.py)
            self._c.event(actor, SecretAction.LIST, prefix or "*", count=len(found))
        )
        return ListPage(tuple(found), next_cursor)

    async def _seal_cursor(self, actor: Actor, path: str) -> str:
        blob = await self._c.sealer.seal(
            actor.tenant, Purpose.SECRET, (_CURSOR, actor.principal), path.encode()
        )
        return base64.urlsafe_b64encode(blob).decode().rstrip("=")

    async def _open_cursor(self, actor: Actor, cursor: str) -> str:
        try:
            blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            raw = await self._c.sealer.open(
                actor.tenant, Purpose.SECRET, (_CURSOR, actor.principal), blob
            )
        except (binascii.Error, ValueError, SealedDataInvalid):
            raise InvalidQuery("bad cursor") from None
        return raw.decode()

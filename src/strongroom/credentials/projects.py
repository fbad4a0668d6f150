"""Projects: named groups of a tenant's stored keys. A project is deleted only when
empty (deleting keys is its own, audited, decision)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from strongroom.audit.actions import ProjectAction
from strongroom.context import Actor
from strongroom.credentials.core import KeyCore
from strongroom.credentials.errors import ApiKeyExists, ApiKeyNotFound, ProjectNotEmpty
from strongroom.credentials.models import ProjectInfo, check_name
from strongroom.errors import InvalidInput
from strongroom.store import credentials_repo as repo
from strongroom.store.models import Project


def _info(p: Project, keys: int = 0) -> ProjectInfo:
    return ProjectInfo(p.name, p.description, p.created_at, p.created_by, keys)


class ProjectService:
    def __init__(self, core: KeyCore) -> None:
        self._c = core

    async def create(self, actor: Actor, name: str, description: str = "") -> ProjectInfo:
        check_name(name)
        if len(description) > 512:
            raise InvalidInput("a description has at most 512 characters")
        row = Project(
            tenant_id=actor.tenant,
            name=name,
            description=description,
            created_at=datetime.now(UTC),
            created_by=actor.principal,
        )
        c = self._c
        try:
            async with c.db.transaction() as s:
                s.add(row)
                await s.flush()
                c.audit.record_in(s, c.event(actor, ProjectAction.CREATE, name))
        except IntegrityError:
            raise ApiKeyExists() from None
        return _info(row)

    async def get(self, actor: Actor, name: str) -> ProjectInfo:
        check_name(name)
        async with self._c.db.read() as s:
            row = await repo.get_project(s, actor.tenant, name)
            if row is None:
                raise ApiKeyNotFound()
            return _info(row, await repo.count_keys(s, row.id))

    async def list(
        self, actor: Actor, after: str | None = None, limit: int = 100
    ) -> list[ProjectInfo]:
        async with self._c.db.read() as s:
            rows = await repo.list_projects(s, actor.tenant, after, limit)
        return [_info(p, n) for p, n in rows]

    async def delete(self, actor: Actor, name: str) -> None:
        check_name(name)
        c = self._c
        async with c.db.transaction() as s:
            row = await repo.get_project(s, actor.tenant, name)
            if row is None:
                raise ApiKeyNotFound()
            if await repo.count_keys(s, row.id):
                raise ProjectNotEmpty()
            await repo.delete_project(s, row.id)
            c.audit.record_in(s, c.event(actor, ProjectAction.DELETE, name))

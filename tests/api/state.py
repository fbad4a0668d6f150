"""A snapshot of all key state, to prove that a failed request changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from strongroom.store.models import KeyMaterial, UserKey, UserKeyHistory, UserKeyVersion
from tests.api.conftest import App


async def key_state(app: App) -> list[Any]:
    rows: list[Any] = []
    async with app.services.db.read() as s:
        for model in (UserKey, UserKeyVersion, KeyMaterial, UserKeyHistory):
            for obj in (await s.execute(select(model))).scalars():
                rows.append(
                    (
                        model.__tablename__,
                        sorted((c.key, repr(getattr(obj, c.key))) for c in model.__table__.columns),
                    )
                )
    return sorted(rows, key=repr)

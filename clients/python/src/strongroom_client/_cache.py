"""Verified key statements per user, for offline encryption: kept until the sooner of
the client's TTL and the statement's ``notAfter``, and dropped as soon as the client
sees a newer key version of that user (a rotate, rewrap or metadata answer) or a
deletion."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom_client.statement import KeyStatement


@dataclass
class _Entry:
    statement: KeyStatement
    expires: float


class StatementCache:
    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._entries: dict[str, _Entry] = {}

    def get(self, user_id: str, now: float) -> KeyStatement | None:
        entry = self._entries.get(user_id)
        if entry is None or now >= entry.expires:
            self._entries.pop(user_id, None)
            return None
        return entry.statement

    def put(self, statement: KeyStatement, now: float) -> None:
        expires = min(now + self._ttl, float(statement.not_after))
        self._entries[statement.user_id] = _Entry(statement, expires)

    def note_version(self, user_id: str, version: int) -> None:
        """The service said ``user_id`` is at ``version``: drop an older statement."""
        entry = self._entries.get(user_id)
        if entry is not None and entry.statement.version < version:
            del self._entries[user_id]

    def drop(self, user_id: str) -> None:
        self._entries.pop(user_id, None)

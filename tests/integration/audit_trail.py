"""Settings of the throwaway audit trails that the audit integration suites build
(test_audit_verify.py, test_audit_export.py): on SQLite, or on a fresh database of the
suite's PostgreSQL server, with a new local master key."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from strongroom.config import Settings
from strongroom.kms.local import create_master_key_file


def trail_settings(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Settings, Any]:
    """For a fixture parametrized ``sqlite``/``postgres``: the settings and the
    PostgreSQL server (None on SQLite)."""
    server = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = str(server.create_database(f"t_{uuid.uuid4().hex[:12]}"))
    settings = Settings(
        database_url=url,
        master_key_file=tmp_path / "strongroom.key",
        scheduler_enabled=False,
        audit_flush_interval_ms=0,
        audit_checkpoint_records=10_000,
    )
    create_master_key_file(settings.kms.master_key_file)
    return settings, server

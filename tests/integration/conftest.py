"""Fixtures for the integration tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """For the in-process CLI tests: a fresh SQLite directory as the only configuration;
    logging left alone (it would keep CliRunner's captured stderr, closed after the
    invoke)."""
    for name in [n for n in os.environ if n.startswith("STRONGROOM_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("STRONGROOM_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/s.db")
    monkeypatch.setenv("STRONGROOM_MASTER_KEY_FILE", str(tmp_path / "strongroom.key"))
    monkeypatch.setattr("strongroom.cli.runner.configure_logging", lambda level: None)
    return tmp_path

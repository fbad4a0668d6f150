"""Settings from files (``STRONGROOM_<NAME>_FILE``): container secrets are mounted
files (Compose ``secrets:``, Kubernetes secret volumes), not environment values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import SettingsError

from strongroom.config import Settings
from strongroom.config.legacy import FILE_SUFFIX, FLAT, unknown_variables

URL = "postgresql://strongroom:s3cret@db/strongroom"


def test_a_setting_is_read_from_the_file_its_FILE_variable_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "db").write_text(URL + "\n")
    monkeypatch.setenv("STRONGROOM_DATABASE_URL_FILE", str(tmp_path / "db"))
    monkeypatch.delenv("STRONGROOM_DATABASE_URL", raising=False)
    assert Settings().database.url == URL
    # The variable itself wins over the file.
    monkeypatch.setenv("STRONGROOM_DATABASE_URL", "sqlite+aiosqlite:///x.db")
    assert Settings().database.url == "sqlite+aiosqlite:///x.db"


def test_an_unreadable_file_is_a_one_line_error_without_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRONGROOM_REDIS_URL_FILE", str(tmp_path / "missing"))
    with pytest.raises(SettingsError, match="STRONGROOM_REDIS_URL_FILE") as info:
        Settings()
    assert "missing" not in str(info.value)


def test_FILE_variables_are_known_and_never_ambiguous() -> None:
    assert unknown_variables({"STRONGROOM_DATABASE_URL_FILE": "/run/secrets/db"}) == []
    assert unknown_variables({"STRONGROOM_NOPE_FILE": "x"}) != []
    names = set(FLAT)
    # No setting's name is another's plus _file: the suffix always means "from a file".
    assert not {n for n in names if n + FILE_SUFFIX.lower() in names}

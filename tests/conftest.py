"""Test-suite-wide configuration.

Fixtures for real backing services (``postgres_server``, ``redis_server``,
``openbao_server``) live in ``tests/services.py``, the migrated database templates
in ``tests/databases.py``; they are loaded here as plugins, so every test under
tests/ can request them. Add other suite-wide fixtures below; keep service start-up
code in tests/services.py.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Scratch files (tmp_path, SQLite databases, the services' data directories) go to
# tmpfs when the machine has one: the tests assert behaviour, not durability, and an
# fsync to disk is most of what a SQLite commit costs here. STRONGROOM_TEST_TMPDIR
# names another place (or "default" for the system's).
_TMP = os.environ.get("STRONGROOM_TEST_TMPDIR", "/dev/shm")
if _TMP != "default" and Path(_TMP).is_dir() and os.access(_TMP, os.W_OK | os.X_OK):
    os.environ["TMPDIR"] = _TMP  # inherited by the services and CLIs tests start
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again

pytest_plugins = ["tests.services", "tests.kms_services", "tests.databases"]


def pytest_configure(config: pytest.Config) -> None:
    """The coverage floor ([tool.coverage.report] fail_under) is about the whole suite:
    a run of chosen tests (paths or node ids on the command line) reports coverage
    but does not fail for being below it."""
    cov = config.pluginmanager.get_plugin("_cov")  # pytest-cov's plugin, when --cov
    if cov is not None and config.args_source is pytest.Config.ArgsSource.ARGS:
        cov.options.cov_fail_under = 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` (seconds each: servers, subprocesses, 100,000 records) run
    first, so that in a parallel run they overlap the many short ones instead of
    forming the tail. The sort is stable: the rest keep their order."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)

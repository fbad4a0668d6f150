"""The import-boundary check: DESIGN.md's layer rules, as import-linter contracts in
pyproject.toml, hold on the tree, and `lint-imports` fails when one is broken (checked
on a copy of the package with one forbidden import added)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
SRC = ROOT / "src"


def lint_imports(src: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the `strongroom` package under ``src``, in a fresh interpreter
    (this one has imported the real package), without import-linter's cache (a
    changed tree must be read anew)."""
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    run = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    return subprocess.run(
        [sys.executable, "-c", run, "--config", str(PYPROJECT), "--no-cache"],
        env=env,
        cwd=src,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(SRC)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "reported"),
    [
        # A lower layer importing a higher one.
        (
            "store/__init__.py",
            "import strongroom.api.app",
            "strongroom.store -> strongroom.api.app",
        ),
        (
            "keys/__init__.py",
            "import strongroom.services",
            "strongroom.keys -> strongroom.services",
        ),
        # Domains are independent of each other.
        ("access/__init__.py", "import strongroom.keys", "strongroom.access -> strongroom.keys"),
        # crypto imports nothing from the project, not even a base module.
        (
            "crypto/__init__.py",
            "import strongroom.errors",
            "strongroom.crypto -> strongroom.errors",
        ),
        # Edges reach the store through services and domains only.
        ("api/__init__.py", "import strongroom.store.db", "strongroom.api -> strongroom.store.db"),
        # A new top-level module must be given a layer.
        ("unplaced.py", "", "strongroom.unplaced"),
    ],
)
def test_a_broken_rule_fails_the_check(
    tmp_path: Path, module: str, line: str, reported: str
) -> None:
    shutil.copytree(
        SRC / "strongroom", tmp_path / "strongroom", ignore=shutil.ignore_patterns("__pycache__")
    )
    with (tmp_path / "strongroom" / module).open("a") as f:
        f.write(f"\n{line}\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert reported in result.stdout
    assert " 0 broken" not in result.stdout

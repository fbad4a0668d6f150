"""``pip install clients/python`` into a fresh venv: the client installs and imports
on its own, without any of the server's dependencies. Uses pip's cache and index
(no network beyond the package index)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

CLIENT = Path(__file__).parents[2] / "clients" / "python"
SERVER_ONLY = {"strongroom", "fastapi", "sqlalchemy", "alembic", "uvicorn", "pydantic", "typer"}


@pytest.mark.slow
def test_client_installs_alone_in_a_fresh_venv(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # From a copy: pip builds in the source tree, which must stay clean (build/).
    source = tmp_path / "strongroom-client"
    ignore = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests")
    shutil.copytree(CLIENT, source, ignore=ignore)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.lower()
    names = {line.split("==")[0].replace("_", "-") for line in listed.splitlines()}
    assert "strongroom-client" in names
    assert not names & SERVER_ONLY, names & SERVER_ONLY
    probe = (
        "import sys, strongroom_client as s;"
        "c = s.Client('http://127.0.0.1:1', api_key='k', env={});"
        "assert 'strongroom' not in sys.modules; print(s.__version__)"
    )
    run = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
    assert run.returncode == 0 and run.stdout.strip() == "0.1.0", run.stderr
    assert sys.executable != str(python)

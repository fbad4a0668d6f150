"""deploy/Dockerfile: hadolint clean, and the properties docs/deploy.md promises
(nothing is built here: no container engine runs on this machine)."""

from __future__ import annotations

import json
import re
import subprocess

from tests.deploy.support import DEPLOY, tool

DOCKERFILE = DEPLOY / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_hadolint_is_clean() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_multi_stage_non_root_exec_form_health_checked() -> None:
    steps = instructions()
    froms = [args for word, args in steps if word == "FROM"]
    assert len(froms) >= 2 and any(" AS build" in f for f in froms)
    # The last stage runs as a numeric non-root UID (runAsNonRoot can check a number).
    users = [args for word, args in steps if word == "USER"]
    assert users and re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]), users
    entry = [json.loads(args) for word, args in steps if word == "ENTRYPOINT"]
    cmd = [json.loads(args) for word, args in steps if word == "CMD"]
    assert entry == [["strongroom"]] and cmd == [["serve"]]  # exec form, no shell
    checks = [args for word, args in steps if word == "HEALTHCHECK"]
    assert len(checks) == 1 and "/readyz" in checks[0] and "CMD [" in checks[0]


def test_the_image_sets_nothing_deployments_read_from_files() -> None:
    """A set variable wins over its ``_FILE`` twin (config/settings.py): an image
    default for these would hide the Compose and Kubernetes secret files."""
    env = " ".join(args for word, args in instructions() if word == "ENV")
    for name in ("DATABASE_URL", "REDIS_URL", "MASTER_KEY_FILE", "KMS_OPENBAO_TOKEN"):
        assert f"STRONGROOM_{name}=" not in env


def test_no_secret_in_a_layer() -> None:
    for word, args in instructions():
        if word in ("ENV", "ARG", "LABEL"):
            assert not re.search(r"(PASSWORD|TOKEN|SECRET|_PIN)\w*=", args, re.I), args
    assert "COPY . " not in DOCKERFILE.read_text()  # only the listed sources go in
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*")] == "*"  # everything excluded unless listed

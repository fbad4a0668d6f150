"""``strongroom access-keys create|list|show|rotate|revoke`` against a running server
(real subprocesses on one SQLite file): the server honours what the CLI does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.test_cli import (
    ACCESS_KEY,
    Server,
    poll,
    run_cli,
    servers,  # noqa: F401 (fixture)
    srk_lines,
    start,
)

TTL = "0.5"  # the server's key cache: the documented bound on revocation delay


def authenticates(server: Server, key: str) -> bool:
    r = httpx.get(f"{server.base}/api/v1/access-keys", headers={"X-API-Key": key}, timeout=10)
    return r.status_code != 401


def cli_json(tmp: Path, *args: str) -> Any:
    result = run_cli(tmp, "access-keys", *args)
    assert result.returncode == 0, result.stderr
    assert "srk_" not in result.stdout + result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.slow
def test_access_key_round_trip(tmp_path: Path, servers: list[Server]) -> None:  # noqa: F811
    server = start(servers, tmp_path, "ak", STRONGROOM_ACCESS_KEY_CACHE_TTL_SECONDS=TTL)
    admin = srk_lines(server.stdout())[0].strip()

    made = run_cli(
        tmp_path, "access-keys", "create", "--role", "integration-admin",
        "--description", "partner sync", "--tenant", "acme", "--expires-in-days", "30",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert ACCESS_KEY.fullmatch(key) and key not in made.stderr
    key_id = key.split("_")[2]
    assert authenticates(server, key)

    listed = cli_json(tmp_path, "list", "--tenant", "acme")
    assert [k["id"] for k in listed] == [key_id]
    assert listed[0]["roles"] == ["integration-admin"] and listed[0]["state"] == "active"
    assert {k["tenant"] for k in cli_json(tmp_path, "list")} == {"default", "acme"}
    (shown,) = cli_json(tmp_path, "show", key_id)
    assert shown["description"] == "partner sync" and shown["expiresAt"]
    assert shown["createdBy"] == "system:cli"

    # The server's tenant admin sees it; the default tenant's admin does not.
    r = httpx.get(f"{server.base}/api/v1/access-keys", headers={"X-API-Key": key})
    assert [k["id"] for k in r.json()["accessKeys"]] == [key_id]
    r = httpx.get(f"{server.base}/api/v1/access-keys/{key_id}", headers={"X-API-Key": admin})
    assert r.status_code == 404

    rotated = run_cli(tmp_path, "access-keys", "rotate", key_id, "--grace-seconds", "0")
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip()
    assert ACCESS_KEY.fullmatch(new) and new.split("_")[2] == key_id and new != key
    assert "srk_" not in rotated.stderr
    assert authenticates(server, new)  # at once, though the server cached the old row
    assert not poll(lambda: authenticates(server, key), lambda ok: not ok)

    revoked = run_cli(tmp_path, "access-keys", "revoke", key_id)
    assert revoked.returncode == 0 and f"revoked access key {key_id}" in revoked.stderr
    assert not poll(lambda: authenticates(server, new), lambda ok: not ok)
    assert cli_json(tmp_path, "show", key_id)[0]["state"] == "revoked"

    again = run_cli(tmp_path, "access-keys", "rotate", key_id)
    assert again.returncode == 2 and "revoked or expired" in again.stderr
    assert again.stdout == ""
    missing = run_cli(tmp_path, "access-keys", "show", "a" * 16)
    assert missing.returncode == 2 and "not found" in missing.stderr

    server.stop()
    logs = server.stdout() + server.stderr_path.read_text()
    assert key not in logs and new not in logs

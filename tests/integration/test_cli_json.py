"""The CLI's JSON speaks the API's language: for the same object, the same field names
(and, for an access key, the same values in the same formats), so one parser reads
both. The API is the reference."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from strongroom.api.app import create_app
from strongroom.cli import app
from strongroom.config import Settings
from strongroom.services.container import build_services

CAMEL = re.compile(r"[a-z][A-Za-z0-9]*")


def cli_ok(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.stdout


async def api_get(admin: str, *paths: str) -> list[Any]:
    settings = Settings()  # the environment the CLI ran with (the env fixture)
    svc = build_services(settings)
    await svc.start()
    try:
        transport = httpx.ASGITransport(app=create_app(settings, svc))
        async with httpx.AsyncClient(transport=transport, base_url="http://sr") as client:
            answers = []
            for path in paths:
                r = await client.get(path, headers={"X-API-Key": admin})
                assert r.status_code == 200, r.text
                answers.append(r.json())
            return answers
    finally:
        await svc.close()


def test_cli_json_has_the_api_field_names(env: Path) -> None:
    admin = cli_ok("access-keys", "create", "--role", "admin").strip()
    made = cli_ok(
        "access-keys", "create", "--role", "auditor", "--description", "reports",
        "--expires-in-days", "30",
    ).strip()  # fmt: skip
    key_id = made.split("_")[2]
    cli_ok("access-keys", "rotate", key_id, "--grace-seconds", "600")  # every time set
    shown = json.loads(cli_ok("access-keys", "show", key_id))
    listed = [json.loads(line) for line in cli_ok("access-keys", "list").splitlines()]
    with sqlite3.connect(env / "s.db") as db:  # one of the default tenant's records
        (victim,) = db.execute(
            "SELECT min(id) FROM audit_records WHERE action = 'access_key.create'"
        ).fetchone()
        db.execute("UPDATE audit_records SET outcome = 'failure' WHERE id = ?", (victim,))
    verified = json.loads(cli_ok("audit", "verify", "--json", code=1))

    paths = [f"/api/v1/access-keys/{key_id}", "/api/v1/access-keys", "/api/v1/audit/verify"]
    one, page, report = asyncio.run(api_get(admin, *paths))

    # An access key: the same object, field for field and value for value.
    assert shown == one
    assert shown["rotatedAt"] and shown["previousKeyValidUntil"] and shown["expiresAt"]
    assert [set(k) for k in listed] == [set(k) for k in page["accessKeys"]]
    # The trail's verification: the same report (counts differ: a tenant's auditor
    # sees its own), its first bad record named with the same fields.
    assert set(verified) == set(report)
    assert verified["first_bad"]["record_id"] == report["first_bad"]["record_id"] == victim
    assert set(verified["first_bad"]) == set(report["first_bad"])
    assert {frozenset(f) for f in verified["findings"]} == {
        frozenset(f) for f in report["findings"]
    }


def test_kms_json_is_camel_case_like_the_api(env: Path) -> None:
    # No API answers with these objects: they follow the API's convention.
    cli_ok("access-keys", "create", "--role", "admin")
    status = json.loads(cli_ok("kms", "status"))
    rewrap = json.loads(cli_ok("kms", "rewrap"))
    assert set(status) == {"target", "byKeyRef", "needs"}
    assert set(rewrap) == {"target", "moved", "changedMeanwhile", "refused", "byKeyRef"}
    assert all(CAMEL.fullmatch(k) for k in [*status, *rewrap])

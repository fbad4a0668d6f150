"""What the code before the #13 restructuring wrote (tests/fixtures/legacy_v1/, made by
its make_fixture.py at commit 6cc4642) still opens: every ciphertext decrypts to its
plaintext, and the audit trail it left verifies, also after this code appends to it."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from strongroom.config import Settings
from strongroom.context import Actor
from strongroom.services.container import build_services

FIXTURE = Path(__file__).parents[1] / "fixtures" / "legacy_v1"


async def test_old_ciphertexts_decrypt_and_old_trail_verifies(tmp_path: Path) -> None:
    for name in ("strongroom.db", "strongroom.key"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    (tmp_path / "strongroom.key").chmod(0o600)
    expected = json.loads((FIXTURE / "expected.json").read_text())
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/strongroom.db",
        master_key_file=tmp_path / "strongroom.key",
        scheduler_enabled=False,
    )
    later = datetime.now(UTC) + timedelta(hours=1)
    svc = build_services(settings)  # read-only first, as `strongroom audit verify`
    try:
        before = await svc.audit_queries.verify(now=later)
        assert before.ok and before.records == 19 and not before.truncated, before
    finally:
        await svc.close()
    svc = build_services(settings)
    await svc.start(migrate=True)
    try:
        actor = Actor("legacy-test", "default", "legacy-rid", None)
        plain = expected["plaintexts"]
        assert len(expected["ciphertexts"]) == 4
        for user, sets in expected["ciphertexts"].items():
            assert await svc.keys.decrypt(actor, user, sets["v1_ctx"], "ctx") == plain
            assert await svc.keys.decrypt(actor, user, sets["v2"], None) == plain
            assert sets["v1_ctx"][0].startswith("sr:v1:") and sets["v2"][0].startswith("sr:v2:")
    finally:
        await svc.close()
    svc = build_services(settings)
    try:
        after = await svc.audit_queries.verify(now=later)
        assert after.ok and after.records > before.records and after.segments == 2, after
    finally:
        await svc.close()

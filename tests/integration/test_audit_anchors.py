"""Issue #15 item 9: checkpoints anchored outside the database (a JSON Lines file and a
signed webhook) make a cut of the trail together with its newest checkpoints provable,
on SQLite and PostgreSQL; a live tail past the anchors is unconfirmed, not ok; an
anchor that cannot be written never breaks the service."""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from prometheus_client import REGISTRY

from strongroom.audit.checkpoints import checkpoint_body, checkpoint_link, parse_heads
from strongroom.config import AuditAnchorSettings, Settings
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import build_services
from tests.integration.audit_trail import trail_settings
from tests.integration.test_audit_verify import LATER, Trail, ev
from tests.integration.test_cli import run_cli
from tests.webhooks import HookReceiver, serving

KEY = bytes(range(32, 64))
SECRET = "whsec_" + base64.b64encode(KEY).decode()


@dataclass
class Anchored:
    trail: Trail
    file: Path
    hook: HookReceiver


def with_anchors(settings: Settings, anchors: AuditAnchorSettings) -> Settings:
    audit = settings.audit.model_copy(update={"anchors": anchors})
    return settings.model_copy(update={"audit": audit})


@pytest.fixture
def hook() -> Iterator[HookReceiver]:
    yield from serving(HookReceiver())


@pytest.fixture(params=["sqlite", "postgres"])
async def anchored(
    request: pytest.FixtureRequest, tmp_path: Path, hook: HookReceiver
) -> AsyncIterator[Anchored]:
    """A closed trail of one segment: checkpoint 1 mid-way, checkpoint 2 at the close,
    each anchored in a file and sent to a webhook."""
    plain, _ = trail_settings(request, tmp_path)
    file = tmp_path / "anchors.jsonl"
    anchors = AuditAnchorSettings(file=file, webhook_url=hook.url, webhook_secret=SECRET)
    settings = with_anchors(plain, anchors)
    svc = build_services(settings)
    await svc.start(migrate=True)
    for i in range(10):
        await svc.audit.append(ev(i))
    assert await svc.audit.checkpoint() == 1
    for i in range(10, 20):
        await svc.audit.append(ev(i))
    await svc.close()  # close record, checkpoint 2
    yield Anchored(Trail(settings, plain.database.url, request.param == "postgres"), file, hook)


def signature_ok(headers: dict[str, str], body: bytes) -> bool:
    """A receiver's Standard Webhooks check, from the spec."""
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.digest(KEY, signed, "sha256")).decode()
    return any(
        hmac.compare_digest(s.partition(",")[2], expected)
        for s in headers["webhook-signature"].split()
    )


async def test_an_untouched_anchored_trail_is_ok(anchored: Anchored) -> None:
    report = await anchored.trail.verify()
    assert (report.status, report.ok, report.last_anchored) == ("ok", True, 2), report
    assert report.anchors == str(anchored.file)
    text = anchored.file.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [e["number"] for e in lines] == [1, 2]
    for e in lines:  # hashes and counts only: no record content leaves
        assert set(e) == {"type", "v", "number", "time", "key_id", "digest", "body", "signature"}
        assert e["digest"] == checkpoint_link(e["body"].encode()).hex()
        heads = json.loads(e["body"])["heads"]
        assert heads and all(set(h) == {"seg", "seq", "hash", "state"} for h in heads)
    assert "user-" not in text and "ak_tester" not in text and "198.51.100" not in text
    # The webhook got the same objects, signed, one message id per checkpoint.
    posts = {h["webhook-id"]: (h, b) for h, b in anchored.hook.posts}
    kid = lines[0]["key_id"]
    assert set(posts) == {f"ckpt_{kid}_1", f"ckpt_{kid}_2"}
    for n, e in enumerate(lines, 1):
        headers, body = posts[f"ckpt_{kid}_{n}"]
        assert json.loads(body) == e and signature_ok(headers, body)


@pytest.mark.parametrize("at_a_checkpoint", [False, True])
async def test_a_cut_with_the_newest_checkpoint_is_named_by_the_anchors(
    anchored: Anchored, at_a_checkpoint: bool
) -> None:
    trail = anchored.trail
    rows = await trail.records()
    (cp1,) = await trail.sql("SELECT body FROM audit_checkpoints WHERE number = 1")
    cut = parse_heads(cp1.body)[0].seq + 1 if at_a_checkpoint else rows[-4].seq
    await trail.sql(
        "DELETE FROM audit_records WHERE seq >= :q",
        "DELETE FROM audit_checkpoints WHERE number = 2",
        q=cut,
    )
    for now in (None, LATER):  # right after the cut as much as later
        report = await trail.verify(now=now)
        assert report.status == "failed" and not report.ok
        kinds = {(f.kind, f.checkpoint, f.seq) for f in report.findings}
        # The checkpoint the database lost, and the records its anchored copy attests.
        assert ("deleted", 2, None) in kinds and ("deleted", 2, cut) in kinds, report.findings
        lost = next(f for f in report.findings if f.seq is None)
        assert lost.message.startswith("checkpoint 2 anchored at ")
        assert "missing from the database" in lost.message


async def test_a_re_signed_checkpoint_contradicts_its_anchor(anchored: Anchored) -> None:
    # Someone holding the signing key (KMS unwrap rights) cuts the tail and rewrites
    # checkpoint 2 to attest what is left: the database alone is self-consistent.
    trail = anchored.trail
    svc = build_services(trail.settings)
    signer = await svc.audit_queries.signer()
    await svc.close()
    (cp1,) = await trail.sql("SELECT body FROM audit_checkpoints WHERE number = 1")
    heads = parse_heads(cp1.body)
    prev = checkpoint_link(cp1.body.encode())
    forged = checkpoint_body(2, datetime.now(UTC), prev, signer.key_id, heads)
    await trail.sql(
        "DELETE FROM audit_records WHERE seq > :q",
        "UPDATE audit_checkpoints SET body = :b, signature = :s WHERE number = 2",
        q=heads[0].seq,
        b=forged.decode(),
        s=signer.sign(forged),
    )
    plain = with_anchors(trail.settings, AuditAnchorSettings())
    alone = await Trail(plain, trail.url, trail.postgres).verify()
    assert alone.status == "unconfirmed" and not alone.findings  # no anchors: unproven
    report = await trail.verify()
    assert report.status == "failed"
    [differs] = [f for f in report.findings if f.kind == "checkpoint"]
    assert differs.checkpoint == 2 and "differs from the one anchored" in differs.message


@pytest.mark.parametrize("anchored", ["sqlite"], indirect=True)
async def test_a_live_writer_is_ok_up_to_its_newest_anchor(anchored: Anchored) -> None:
    svc = build_services(anchored.trail.settings)
    await svc.start()
    await svc.audit.append(ev(100))
    q = svc.audit_queries
    assert (await q.verify()).status == "unconfirmed"  # its new records: not anchored yet
    assert await svc.audit.checkpoint() == 3
    report = await q.verify()
    assert (report.status, report.last_anchored) == ("ok", 3), report  # live, all anchored
    await svc.audit.append(ev(101))
    tail = await q.verify()
    [u] = tail.unconfirmed
    assert (tail.status, u.segment, u.seq) == ("unconfirmed", svc.audit.segment_id, 2)
    # A checkpoint the database holds but the anchor log does not (yet): unconfirmed.
    assert await svc.audit.checkpoint() == 4
    lines = anchored.file.read_text().splitlines()
    anchored.file.write_text("\n".join(lines[:-1]) + "\n")
    behind = await q.verify()
    assert behind.status == "unconfirmed" and behind.last_anchored == 3
    assert [(u.checkpoint, u.message) for u in behind.unconfirmed if u.segment is None] == [
        (4, "checkpoint 4 not in the anchor log yet (it ends at checkpoint 3)")
    ]
    await svc.close()


async def test_anchor_failures_never_break_the_service(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}",
        master_key_file=tmp_path / "k",
        scheduler_enabled=False,
        audit_anchor_file=str(tmp_path / "no-such-dir" / "anchors.jsonl"),
        audit_anchor_webhook_url="http://127.0.0.1:9/closed",
    )
    create_master_key_file(settings.kms.master_key_file)

    def failed(sink: str) -> float:
        labels = {"sink": sink, "outcome": "failed"}
        return REGISTRY.get_sample_value("strongroom_audit_anchor_writes_total", labels) or 0.0

    before = failed("file"), failed("webhook")
    svc = build_services(settings)
    await svc.start(migrate=True)
    with structlog.testing.capture_logs() as logs:
        await svc.audit.append(ev(1))
        assert await svc.audit.checkpoint() == 1  # written, whatever the anchors
        await svc.audit.append(ev(2))  # and the trail goes on
    assert (failed("file"), failed("webhook")) == (before[0] + 1, before[1] + 1)
    events = [e for e in logs if e["event"] == "audit_anchor_failed"]
    assert {e["sink"] for e in events} == {"file", "webhook"}
    assert all(e["checkpoint"] == 1 for e in events)
    report = await svc.audit_queries.verify()
    assert report.status == "unconfirmed" and not report.findings
    assert "not in the anchor log yet (it holds none)" in report.unconfirmed[0].message
    await svc.close()


@pytest.mark.parametrize("anchored", ["sqlite"], indirect=True)
async def test_cli_verify_with_anchors(anchored: Anchored, tmp_path: Path) -> None:
    trail = anchored.trail
    env = {"STRONGROOM_DATABASE_URL": trail.url}
    env["STRONGROOM_MASTER_KEY_FILE"] = str(trail.settings.kms.master_key_file)
    copy = tmp_path / "kept-off-site.jsonl"
    copy.write_bytes(anchored.file.read_bytes())
    ok = run_cli(tmp_path, "audit", "verify", "--anchors", str(copy), **env)
    assert ok.returncode == 0 and "OK: trail intact" in ok.stdout, ok.stdout + ok.stderr
    assert "up to checkpoint 2" in ok.stdout
    rows = await trail.records()
    await trail.sql(
        "DELETE FROM audit_records WHERE seq >= :q",
        "DELETE FROM audit_checkpoints WHERE number = 2",
        q=rows[-4].seq,
    )
    bare = run_cli(tmp_path, "audit", "verify", **env)  # no anchors: unproven, exit 3
    assert bare.returncode == 3, bare.stdout + bare.stderr
    cut = run_cli(tmp_path, "audit", "verify", "--json", "--anchors", str(copy), **env)
    assert cut.returncode == 1, cut.stdout + cut.stderr
    out = json.loads(cut.stdout)
    assert out["status"] == "failed" and out["first_bad"]["checkpoint"] == 2
    named = [f["message"] for f in out["findings"] if f["seq"] is None]
    assert any(m.startswith("checkpoint 2 anchored at ") for m in named), out["findings"]
    configured = run_cli(tmp_path, "audit", "verify", STRONGROOM_AUDIT_ANCHOR_FILE=str(copy), **env)
    assert configured.returncode == 1 and "FAILED" in configured.stdout
    missing = run_cli(tmp_path, "audit", "verify", "--anchors", str(tmp_path / "nope"), **env)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1, missing.stderr
    assert "--anchors" in missing.stderr

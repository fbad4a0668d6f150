"""/metrics: behind metrics:read, route templates (never raw paths or userIds) as
labels, decrypt failures counted without their reason, cache hits and misses."""

from __future__ import annotations

import re

from tests.api.conftest import App


def sample(text: str, name: str, **labels: str) -> float:
    """Value of one sample in the exposition text (0 if absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if m and ",".join(sorted(m.group(1).split(","))) == want:
            return float(m.group(2))
    return 0.0


async def test_metrics_need_a_key_with_metrics_read(app: App) -> None:
    assert (await app.client.get("/metrics")).status_code == 401
    _, narrow = await app.services.access.create("default", ["encrypt-only"])
    denied = await app.client.get("/metrics", headers={"X-API-Key": narrow})
    assert denied.status_code == 403
    _, auditor = await app.services.access.create("default", ["auditor"])
    ok = await app.client.get("/metrics", headers={"X-API-Key": auditor})
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"


async def test_requests_items_and_cache_are_counted_without_identifiers(app: App) -> None:
    before = (await app.get("/metrics")).text
    user = "metrics-user-7f3a"
    await app.create_key(user)
    texts = await app.encrypt(user, ["a", "b", "c"])
    await app.decrypt(user, texts)
    await app.decrypt(user, texts)  # the data key opened by the first is cached
    forged = texts[0][:-2] + ("AA" if not texts[0].endswith("AA") else "BA")
    bad = await app.post("/api/v1/decrypt", {"userId": user, "data": [forged]})
    assert bad.status_code == 400
    after = (await app.get("/metrics")).text

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    route = {"method": "POST", "route": "/api/v1/encrypt", "status": "200"}
    assert delta("strongroom_http_requests_total", **route) == 1
    assert delta("strongroom_crypto_items_total", operation="key.encrypt", outcome="success") == 3
    assert delta("strongroom_crypto_items_total", operation="key.decrypt", outcome="failure") == 1
    assert delta("strongroom_key_cache_requests_total", cache="data_key", result="miss") >= 1
    assert delta("strongroom_key_cache_requests_total", cache="data_key", result="hit") >= 1
    assert user not in after and "forged" not in after
    assert not re.search(r'reason="', after)  # no failure split that would be an oracle


def plain(text: str, name: str) -> float:
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


async def test_audit_writes_chain_length_and_checkpoints(app: App) -> None:
    before = (await app.get("/metrics")).text
    await app.create_key("metrics-audit")
    await app.encrypt("metrics-audit", ["x"])
    await app.services.audit.checkpoint()
    after = (await app.get("/metrics")).text
    written = sample(after, "strongroom_audit_records_total", outcome="written")
    assert written - sample(before, "strongroom_audit_records_total", outcome="written") >= 2
    assert plain(after, "strongroom_audit_chain_length") >= 2
    assert plain(after, "strongroom_audit_checkpoints_total") > plain(
        before, "strongroom_audit_checkpoints_total"
    )

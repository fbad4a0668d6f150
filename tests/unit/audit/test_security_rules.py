"""Security-event rules over the audit stream, driven with a fake clock."""

from __future__ import annotations

from strongroom.audit.actions import AuthAction, KeyAction
from strongroom.audit.events import SecurityEvent, SecurityMonitor, Thresholds
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def failed_auth(addr: str, key: str = "anonymous", reason: str = "mismatch") -> AuditEvent:
    return AuditEvent(
        Actor(key, "-", "rid", addr), AuthAction.API_KEY, Outcome.FAILURE, detail={"reason": reason}
    )


def decrypt(principal: str, user: str, addr: str = "10.0.0.1") -> AuditEvent:
    return AuditEvent(
        Actor(principal, "default", "rid", addr), KeyAction.DECRYPT, Outcome.SUCCESS, user, 1
    )


def rules(events: list[list[SecurityEvent]]) -> list[str]:
    return [e.rule for batch in events for e in batch]


def test_burst_of_bad_keys_from_one_address_fires_once_per_minute() -> None:
    clock = Clock()
    m = SecurityMonitor(clock=clock)
    fired = [m.observe(failed_auth("198.51.100.9")) for _ in range(4)]
    assert rules(fired) == []
    fifth = m.observe(failed_auth("198.51.100.9"))
    assert [(e.rule, e.subject) for e in fifth] == [("auth.failures", "addr:198.51.100.9")]
    assert rules([m.observe(failed_auth("198.51.100.9")) for _ in range(20)]) == []
    clock.now += 61
    assert rules([m.observe(failed_auth("198.51.100.9")) for _ in range(5)]) == ["auth.failures"]


def test_failures_spread_over_time_or_addresses_do_not_fire() -> None:
    clock = Clock()
    m = SecurityMonitor(clock=clock)
    for i in range(10):
        clock.now += 16  # at most 4 within any minute
        assert m.observe(failed_auth("198.51.100.9")) == []
        assert m.observe(failed_auth(f"203.0.113.{i}")) == []


def test_repeated_failures_against_one_key_id_fire_across_addresses() -> None:
    m = SecurityMonitor(clock=Clock())
    fired = [m.observe(failed_auth(f"203.0.113.{i}", key="abcdabcdabcdabcd")) for i in range(5)]
    assert [e.subject for e in fired[-1]] == ["key:abcdabcdabcdabcd"]


def test_revoked_or_expired_credential_fires_at_once() -> None:
    m = SecurityMonitor(clock=Clock())
    for reason in ("revoked", "expired"):
        out = m.observe(failed_auth("192.0.2.1", key=f"k-{reason}", reason=reason))
        assert [(e.rule, e.severity) for e in out] == [("auth.revoked_credential", "P2")]


def test_mass_decrypt_across_users_beyond_baseline_fires() -> None:
    clock = Clock()
    m = SecurityMonitor(Thresholds(bulk_min_users=50, bulk_factor=10), clock=clock)
    for window in range(3):  # a support tool that reads ~20 users per window
        for u in range(20):
            assert m.observe(decrypt("support", f"w{window}-u{u}")) == []
        clock.now += 300
    fired = [m.observe(decrypt("support", f"mass-{u}")) for u in range(500)]
    assert rules(fired) == ["decrypt.bulk"]
    assert rules([m.observe(decrypt("other", "u1")) for _ in range(100)]) == []  # one user


def test_a_principal_that_always_reads_many_users_is_not_flagged() -> None:
    clock = Clock()
    m = SecurityMonitor(Thresholds(bulk_min_users=50, bulk_factor=10), clock=clock)
    for window in range(10):
        fired = [m.observe(decrypt("batch-job", f"{window}-{u}")) for u in range(200)]
        if window >= 3:  # once its baseline has formed
            assert rules(fired) == []
        clock.now += 300


def test_new_address_for_a_known_principal_fires() -> None:
    m = SecurityMonitor(clock=Clock())
    assert m.observe(decrypt("svc", "u1", addr="10.0.0.1")) == []  # first sight: quiet
    assert m.observe(decrypt("svc", "u2", addr="10.0.0.1")) == []
    out = m.observe(decrypt("svc", "u3", addr="192.0.2.77"))
    assert [(e.rule, e.subject) for e in out] == [("auth.new_address", "svc")]
    assert m.observe(decrypt("svc", "u4", addr="192.0.2.77")) == []


def test_key_deletion_fires() -> None:
    m = SecurityMonitor(clock=Clock())
    e = AuditEvent(
        Actor("admin", "default", "r", None), KeyAction.DELETE_SCHEDULE, Outcome.SUCCESS, "u9"
    )
    assert [(x.rule, x.subject) for x in m.observe(e)] == [("key.deletion", "u9")]
    failed = AuditEvent(
        Actor("admin", "default", "r", None), KeyAction.DESTROY, Outcome.FAILURE, "u9"
    )
    assert m.observe(failed) == []


def test_failures_spread_over_many_addresses_raise_the_global_rule_once() -> None:
    clock = Clock()
    m = SecurityMonitor(Thresholds(auth_failures_global_per_minute=50), clock=clock)
    spread = [m.observe(failed_auth(f"203.0.113.{i % 250}")) for i in range(49)]
    assert rules(spread) == []  # under every per-address threshold, under the global one
    fired = m.observe(failed_auth("198.51.100.1"))
    assert [(e.rule, e.subject, e.severity) for e in fired] == [("auth.failures_global", "*", "P1")]
    assert rules([m.observe(failed_auth(f"192.0.2.{i}")) for i in range(100)]) == []
    clock.now += 61  # the previous minute still weighs in, and the rule is quiet again
    assert "auth.failures_global" in rules([m.observe(failed_auth("192.0.2.1")) for _ in range(5)])
    clock.now += 200  # two idle minutes: nothing carries over
    assert rules([m.observe(failed_auth(f"192.0.2.{i}")) for i in range(49)]) == []


def test_rate_limit_violations_fire_once_per_subject_and_quiet_period() -> None:
    clock = Clock()
    m = SecurityMonitor(clock=clock)
    first = m.rate_limited("ak1", "req", "default", "r1")
    assert [(e.rule, e.severity, e.subject, e.detail["facts"]) for e in first] == [
        ("rate.limited", "P3", "ak1", ["req"])
    ]
    assert all(m.rate_limited("ak1", "items", "default", "r2") == [] for _ in range(50))
    # another subject has its own quiet period; an address is tagged where sensitive
    (addr,) = m.rate_limited("addr:198.51.100.9", "addr", "-", "r3")
    assert addr.subject_kind == "clientAddr"
    clock.now += 61
    assert rules([m.rate_limited("ak1", "req", "default", "r4")]) == ["rate.limited"]


def touch(principal: str, user: str, action: KeyAction = KeyAction.ENCRYPT) -> AuditEvent:
    actor = Actor(principal, "default", "rid", None)
    return AuditEvent(actor, action, Outcome.SUCCESS, user, 1, target_kind="userId")


def test_a_principal_suddenly_touching_many_users_fires() -> None:
    clock = Clock()
    m = SecurityMonitor(Thresholds(bulk_min_users=50, bulk_factor=10), clock=clock)
    for window in range(3):  # an app that writes for ~10 users per window
        for u in range(10):
            assert m.observe(touch("app", f"w{window}-u{u}")) == []
        clock.now += 300
    actions = [KeyAction.ROTATE, KeyAction.POLICY, KeyAction.REWRAP, KeyAction.DELETE_CANCEL]
    fired = [m.observe(touch("app", f"all-{u}", actions[u % 4])) for u in range(200)]
    assert [(e.rule, e.severity, e.subject) for b in fired for e in b] == [
        ("users.bulk", "P3", "app")
    ]
    # Decrypts have their own rule; system work (the scheduler) and one user never count.
    decrypts = [m.observe(touch("reader", f"d{u}", KeyAction.DECRYPT)) for u in range(60)]
    assert rules(decrypts) == ["decrypt.bulk"]
    assert rules([m.observe(touch("system:rotation", f"s{u}")) for u in range(200)]) == []
    assert rules([m.observe(touch("one", "u1")) for _ in range(200)]) == []

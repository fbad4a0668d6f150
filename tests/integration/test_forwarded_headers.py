"""``X-Forwarded-For`` against a real ``strongroom serve``: believed only from the
configured ``TRUSTED_PROXIES`` (none by default), so a local client cannot pick the
address its per-address limits, audit records and ``lastUsedAddr`` get; and the
failed-authentication budget across all addresses, with its security event."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import httpx

from tests.integration.test_cli import Server, poll, servers, srk_lines, start
from tests.integration.test_mtls import Pki, TlsServer, pki

__all__ = ["pki", "servers"]  # fixtures, used by name

FAST_FLUSH = {
    "STRONGROOM_ACCESS_KEY_USAGE_FLUSH_SECONDS": "0.2",
    "STRONGROOM_AUDIT_FLUSH_INTERVAL_MS": "50",
}


def bad_key() -> str:
    # Well formed, never issued: the lookup runs and fails.
    return f"srk_live_{'a' * 16}_{secrets.token_hex(26)}_aaaaaaa"


def spray(server: Server, count: int) -> list[httpx.Response]:
    """Bad keys, each with another X-Forwarded-For, until the first 429 (bounded)."""
    out: list[httpx.Response] = []
    with httpx.Client(base_url=server.base, timeout=10) as client:
        for i in range(count):
            r = client.get(
                "/api/v1/access-keys",
                headers={"X-API-Key": bad_key(), "X-Forwarded-For": f"10.{i // 250}.{i % 250}.7"},
            )
            out.append(r)
            if r.status_code == 429:
                break
    return out


def rows(tmp: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp / "strongroom.db") as db:
        return db.execute(sql).fetchall()


def addresses(tmp: Path, action: str) -> set[object]:
    return {
        r[0] for r in rows(tmp, f"SELECT client_addr FROM audit_records WHERE action = '{action}'")
    }


def test_forwarded_for_from_an_untrusted_peer_changes_nothing(
    tmp_path: Path, servers: list[Server]
) -> None:
    server = start(servers, tmp_path, "plain", **FAST_FLUSH)
    admin = srk_lines(server.stdout())[0].strip()
    ok = httpx.get(
        f"{server.base}/api/v1/access-keys",
        headers={"X-API-Key": admin, "X-Forwarded-For": "203.0.113.5"},
        timeout=10,
    )
    assert ok.status_code == 200
    used = poll(
        lambda: rows(tmp_path, "SELECT last_used_addr FROM access_keys"),
        lambda r: r and r[0][0] is not None,
    )
    assert used == [("127.0.0.1",)]
    # Now one address (the real peer) sprays: the header buys it nothing.
    answers = spray(server, 200)
    statuses = [r.status_code for r in answers]
    assert statuses[-1] == 429, "rotating X-Forwarded-For dodged the per-address limit"
    assert statuses[:-1] == [401] * (len(statuses) - 1)
    # RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE (60), plus the refill (1/s) while it runs
    assert 55 <= len(statuses) - 1 <= 75
    assert answers[-1].json()["error"]["code"] == "RATE001"
    assert int(answers[-1].headers["Retry-After"]) >= 1
    # The audit trail names the real peer, never the header's word.
    got = poll(lambda: addresses(tmp_path, "auth.api_key"), lambda a: len(a) > 0)
    assert got == {"127.0.0.1"}


def test_a_trusted_proxy_names_the_client_and_the_global_budget_holds(
    tmp_path: Path, servers: list[Server]
) -> None:
    server = start(
        servers,
        tmp_path,
        "proxied",
        STRONGROOM_TRUSTED_PROXIES='["127.0.0.0/8"]',
        STRONGROOM_RATE_LIMIT_FAILED_AUTH_PER_MINUTE="40",
        STRONGROOM_SECURITY_AUTH_FAILURES_GLOBAL_PER_MINUTE="20",
        **FAST_FLUSH,
    )
    admin = srk_lines(server.stdout())[0].strip()
    ok = httpx.get(
        f"{server.base}/api/v1/access-keys",
        headers={"X-API-Key": admin, "X-Forwarded-For": "203.0.113.5"},
        timeout=10,
    )
    assert ok.status_code == 200
    used = poll(
        lambda: rows(tmp_path, "SELECT last_used_addr FROM access_keys"),
        lambda r: r and r[0][0] is not None,
    )
    assert used == [("203.0.113.5",)]
    # Each forwarded address is now a real client: only the global budget stops them.
    answers = spray(server, 200)
    statuses = [r.status_code for r in answers]
    assert statuses[-1] == 429 and 38 <= len(statuses) - 1 <= 50
    assert answers[-1].json()["error"]["code"] == "RATE001"
    assert int(answers[-1].headers["Retry-After"]) >= 1
    fired = poll(
        lambda: rows(
            tmp_path,
            "SELECT count(*) FROM audit_records WHERE action = 'security.auth.failures_global'",
        ),
        lambda r: r[0][0] > 0,
    )
    assert fired == [(1,)]
    assert "10.0.0.7" in addresses(tmp_path, "auth.api_key")
    # A clean client is still served while the budget is spent.
    ok = httpx.get(
        f"{server.base}/api/v1/access-keys",
        headers={"X-API-Key": admin, "X-Forwarded-For": "198.51.100.1"},
        timeout=10,
    )
    assert ok.status_code == 200, ok.text


def test_tls_and_several_workers_believe_no_forwarded_header_either(
    tmp_path: Path, pki: Pki, servers: list[Server]
) -> None:
    cert, key = pki.files("server")
    server = TlsServer(
        tmp_path,
        pki,
        STRONGROOM_TLS_CERT_FILE=cert,
        STRONGROOM_TLS_KEY_FILE=key,
        STRONGROOM_WORKERS="2",
        **FAST_FLUSH,
    )
    servers.append(server)
    server.start()
    admin = srk_lines(server.stdout())[0].strip()
    with server.client(None) as client:
        for _ in range(4):  # new connections: more than one worker answers
            client.headers["Connection"] = "close"
            r = client.get(
                "/api/v1/access-keys",
                headers={"X-API-Key": admin, "X-Forwarded-For": "203.0.113.5"},
            )
            assert r.status_code == 200, r.text
            bad = client.get(
                "/api/v1/access-keys",
                headers={"X-API-Key": bad_key(), "X-Forwarded-For": "203.0.113.6"},
            )
            assert bad.status_code == 401
    used = poll(
        lambda: rows(tmp_path, "SELECT last_used_addr FROM access_keys"),
        lambda r: r and r[0][0] is not None,
    )
    assert used == [("127.0.0.1",)]
    got = poll(lambda: addresses(tmp_path, "auth.api_key"), lambda a: len(a) > 0)
    assert got == {"127.0.0.1"}

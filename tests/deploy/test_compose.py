"""deploy/compose.yaml: valid against the Compose specification's JSON schema
(tests/fixtures/compose-spec/, vendored with its source), and shaped as
docs/deploy.md describes: PostgreSQL, Redis (noeviction), a one-shot migration, two
replicas behind a load balancer, health checks, start order, secrets from files. The
load balancer's file is checked by haproxy itself and run: MCP 2025-11-25 sessions
stick to the replica that opened them, everything else is round robin."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema

from tests.deploy.haproxy_support import haproxy_check, run_haproxy
from tests.deploy.support import DEPLOY, load_yaml

LB = DEPLOY / "compose" / "haproxy.cfg"
SCHEMA = Path(__file__).parents[1] / "fixtures" / "compose-spec" / "compose-spec.json"
COMPOSE = DEPLOY / "compose.yaml"
REPLICAS = ("strongroom-a", "strongroom-b")


def compose() -> dict[str, Any]:
    data = load_yaml(COMPOSE)
    assert isinstance(data, dict)
    return data


def test_valid_against_the_compose_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose()), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_the_schema_rejects_a_broken_file() -> None:
    """The validation can fail: an unknown service key is refused."""
    schema = json.loads(SCHEMA.read_text())
    broken = compose()
    broken["services"]["redis"]["restart_policy"] = "always"
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_services_and_start_order() -> None:
    services = compose()["services"]
    assert {"postgres", "redis", "migrate", "lb", *REPLICAS} <= set(services)
    redis = " ".join(services["redis"]["command"])
    assert "--maxmemory-policy noeviction" in redis
    assert services["migrate"]["command"][0] == "migrate"
    assert services["migrate"]["restart"] == "no"
    for name in REPLICAS:
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("postgres", "redis", "lb"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"
    lb = (DEPLOY / "compose" / "haproxy.cfg").read_text()
    assert all(f"server {n[-1]} {n}:8080 check" in lb for n in REPLICAS)
    assert "option httpchk GET /readyz" in lb


def test_replicas_are_locked_down_and_configured_alike() -> None:
    services = compose()["services"]
    a, b = (services[n] for n in REPLICAS)
    assert a["environment"] == b["environment"]  # docs/deploy.md: equal everywhere
    for svc in (a, b, services["migrate"]):
        assert svc["user"] == "10001:10001" and svc["read_only"] is True
        assert svc["cap_drop"] == ["ALL"] and "no-new-privileges:true" in svc["security_opt"]


def test_secrets_come_from_files_never_from_the_file() -> None:
    data = compose()
    declared = data["secrets"]
    assert all(set(s) == {"file"} and s["file"].startswith("./secrets/") for s in declared.values())
    assert "secrets/" in (DEPLOY / ".gitignore").read_text().split()
    for name, svc in data["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if any(w in key for w in ("PASSWORD", "TOKEN", "SECRET", "DATABASE_URL", "PIN")):
                assert key.endswith("_FILE") and str(value).startswith("/run/secrets/"), (
                    name,
                    key,
                )
        for secret in svc.get("secrets", []):
            assert secret in declared, (name, secret)


def test_openbao_is_an_optional_profile() -> None:
    services = compose()["services"]
    assert services["openbao"]["profiles"] == ["openbao"]
    assert services["openbao-setup"]["profiles"] == ["openbao"]
    assert services["migrate"]["depends_on"]["openbao-setup"]["required"] is False
    assert "profiles" not in services["strongroom-a"]


def test_replicas_are_health_checked_by_the_image() -> None:
    """``depends_on: {condition: service_healthy}`` on a replica needs a health check:
    the image's HEALTHCHECK on /readyz (deploy/Dockerfile), not overridden here."""
    services = compose()["services"]
    assert "HEALTHCHECK" in (DEPLOY / "Dockerfile").read_text()
    for name in REPLICAS:
        assert "healthcheck" not in services[name], name
    waited_on = {
        dep
        for svc in services.values()
        for dep, cond in (svc.get("depends_on") or {}).items()
        if isinstance(cond, dict) and cond.get("condition") == "service_healthy"
    }
    for dep in waited_on:
        assert dep in REPLICAS or "healthcheck" in services[dep], dep


def test_mcp_sessions_stick_to_the_replica_that_opened_them() -> None:
    """2025-11-25 MCP sessions live in one replica's memory (src/strongroom/mcp/http.py):
    the balancer learns ``Mcp-Session-Id`` from answers and routes on it."""
    backend = LB.read_text().split("backend strongroom", 1)[1]
    lines = [line.split("#")[0].strip() for line in backend.splitlines()]
    assert "balance roundrobin" in lines
    assert any(
        re.fullmatch(r"stick-table type string len \d+ size \S+ expire \S+", x) for x in lines
    )
    assert "stick store-response res.hdr(mcp-session-id)" in lines
    assert "stick on req.hdr(mcp-session-id)" in lines


def test_haproxy_accepts_the_file_and_refuses_a_broken_one(tmp_path: Path) -> None:
    assert haproxy_check(LB.read_text(), tmp_path).returncode == 0
    broken = LB.read_text().replace("stick on req.hdr(mcp-session-id)", "stick on req.hdr(")
    failed = haproxy_check(broken, tmp_path)
    assert failed.returncode != 0 and b"stick" in failed.stdout + failed.stderr


def test_the_balancer_routes_sessions_by_id_and_the_rest_round_robin(tmp_path: Path) -> None:
    with run_haproxy(LB.read_text(), tmp_path) as ask:
        plain = [ask(None)[0] for _ in range(4)]
        assert sorted(plain) == ["a", "a", "b", "b"]  # no header: round robin
        opened: dict[str, str] = {}
        while len(opened) < 2:  # one session opened on each replica
            name, sid = ask(None)
            opened.setdefault(name, sid)
        for name, sid in opened.items():
            assert [ask(sid)[0] for _ in range(5)] == [name] * 5, name

"""deploy/compose.yaml: valid against the Compose specification's JSON schema
(tests/fixtures/compose-spec/, vendored with its source), and shaped as
docs/deploy.md describes: PostgreSQL, Redis (noeviction), a one-shot migration, two
replicas behind a load balancer, health checks, start order, secrets from files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from tests.deploy.support import DEPLOY, load_yaml

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

"""The server keeps the contract its OpenAPI document states: schemathesis, in process
against the ASGI app on a SQLite database, with every check (the CLI's ``--checks
all``) and every phase (examples, coverage, fuzzing, stateful), bounded and seeded.

Found before #15: 405 answers without ``Allow``; schema-valid requests refused (role
names, reserved names, cursors, ``3176.0`` for an integer); schema-violating ones
accepted (``to=0.5`` as a date-time). Any new disagreement fails here, named.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.engine import events, from_schema
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.python import asgi

from strongroom.api.app import create_app
from strongroom.config import Settings
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import build_services
from strongroom.store.tenancy import enter_system_scope
from tests.api.conftest import make_settings
from tests.databases import clone_sqlite

# Refusals of schema-valid requests that no schema can foresee: a string that is not a
# ciphertext of this user, an issuer, role or expiry that the server's state or clock
# rules out, a policy or deletion the key's state does not allow. Each is a 400 with a
# stable code and its own message; a validation error ("invalid input", REQ004) never
# is one of them, so a schema looser than the server still fails the run. Built-in
# role names are refused by the schema (``not``), but the stateful phase reuses names
# it read from GET /roles.
SEMANTIC_REFUSALS = frozenset(
    {
        ("ENC001", "invalid ciphertext"),
        ("ENC001", "unknown issuer"),
        ("ENC001", "unknown role"),
        ("ENC001", "expiry must be in the future"),
        ("ENC001", "symmetric key has no public key"),
        ("ENC001", "role name reserved or malformed"),
        ("ENC001", "built-in roles cannot be deleted"),
        ("KEY006", "minDecryptionVersion must be between 1 and current version"),
        ("KEY006", "key is not scheduled for deletion"),
        # A vault listing's cursor is sealed by the server: only one it issued opens.
        ("REQ004", "bad cursor"),
        # Shares: maxima the operator configures below the schema's caps, a base64
        # value that does not decode, a vault source where no vault is wired.
        ("ENC001", "expiry beyond the configured maximum"),
        ("ENC001", "views beyond the configured maximum"),
        ("ENC001", "value is not base64"),
        ("ENC001", "sharing vault secrets is not available"),
        ("ENC001", "a vault secret cannot be shared client-encrypted"),
        # Certificates: what a PEM, DER, PKCS#12 or CSR holds, and what a CA's role
        # and validity allow, are beyond a schema (pki/errors.py).
        ("PKI001", "unreadable certificate or key"),
        ("PKI001", "no certificate found"),
        ("PKI001", "unsupported PEM block"),
        ("PKI001", "more than one private key"),
        ("PKI001", "not base64"),
        ("PKI001", "empty input"),  # base64 of whitespace: schema-valid, decodes to nothing
        ("PKI001", "CSR signature does not verify"),
        ("PKI001", "key derivation rounds above the limit"),
        ("PKI002", "wrong or missing password"),
        ("PKI005", "private key matches no certificate in the bundle"),
        ("PKI011", "issuance refused by policy"),
        ("ENC001", "a PKCS#12 export needs a password"),
        ("ENC001", "commonName must be 1 to 64 bytes in UTF-8"),
        # Stored API keys (credentials/errors.py): host patterns, CIDRs, a template's
        # single {key}, a value's byte size, the operator's hook names.
        ("APK004", "invalid host pattern (a name, an IP or *.domain)"),
        ("APK005", "invalid injection (header or query name, {key} once)"),
        ("APK006", "invalid allowed network (a CIDR)"),
        ("APK011", "no such rotation hook configured"),
        ("APK013", "invalid api key value"),
        ("ENC001", "give a new value or hook: true, not both"),
        # The broker: a body declared base64 that does not decode (details.reason body).
        ("BRK009", "malformed upstream request"),
        # Usage of a stored key: a range longer than its granularity allows, or with
        # from after to, or at the calendar's edge (credentials/usage_query.py).
        ("USG001", "invalid usage time range"),
        # The broker: a URL, method or header that cannot go on the wire, or a body
        # that is not the base64 it claims (credentials/broker_errors.py).
        ("BRK009", "malformed upstream request"),
        ("PKI001", "empty input"),  # whitespace only, as base64 (found with #18's routes)
        # MCP approvals: the tenant's policy (session maximum) is below the schema's
        # cap; sizes and characters the schema cannot bound (approvals/).
        ("ENC001", "duration beyond the policy"),
        ("ENC001", "annotations too large"),
        ("ENC001", "text holds a NUL character"),
        ("ENC001", "a reason of 1 to 500 characters (required to deny)"),
        # The policy: each business hour within its bounds, yet the end not after the
        # start (one of them may be the current version's, not in the body).
        ("ENC001", "businessEndHour must be after businessStartHour"),
    }
)


# Answers of a state no schema can foresee, with their own status: a vault version
# that expired between the (stateful) write and the read.
SEMANTIC_STATES = frozenset({(410, "SEC004", "secret version expired")})


def filter_failure(context: object, failure: Failure, case: object, response: Any) -> bool:
    """schemathesis hook: keep every failure but a semantic refusal (above)."""
    if not isinstance(failure, RejectedPositiveData) or response.status_code not in (400, 410):
        return True
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return True
    found = (error.get("code"), error.get("message"))
    if response.status_code == 410:
        return (410, *found) not in SEMANTIC_STATES
    return found not in SEMANTIC_REFUSALS


async def _admin_key(settings: Settings) -> str:
    svc = build_services(settings)
    enter_system_scope()
    await svc.start()
    try:
        _, key = await svc.access.create("default", ["admin"], "schemathesis")
        return key
    finally:
        await svc.close()


def _failures(stream: list[events.EngineEvent]) -> list[str]:
    """One line per failed check: operation, check, what was sent and what came back
    (the inputs are schemathesis' own, nothing sensitive)."""
    out = []
    for event in stream:
        if isinstance(event, events.NonFatalError | events.FatalError):
            out.append(f"error: {event!r}"[:500])
        if not isinstance(event, events.ScenarioFinished):
            continue
        rec = event.recorder
        for case_id, checks in rec.checks.items():
            for check in checks:
                if check.failure_info is None:
                    continue
                case = rec.cases[case_id].value
                interaction = rec.interactions.get(case_id)
                response = interaction.response if interaction else None
                answer = f"{response.status_code} {response.content[:200]!r}" if response else "-"
                sent = (
                    f"{case.method} {case.path} {case.path_parameters} {case.query} {case.body!r}"
                )
                out.append(f"{rec.label}: {check.name}: {sent[:300]} -> {answer}")
    return out


@pytest.mark.slow
def test_server_and_schema_agree(sqlite_template: Path, tmp_path: Path) -> None:
    url = clone_sqlite(sqlite_template, tmp_path / "strongroom.db")
    # Budgets would answer 429 to a fuzzer: documented, but it would hide everything else.
    settings = make_settings(url, tmp_path, rate_limit_enabled=False, pki_ca_enabled=True)
    create_master_key_file(settings.kms.master_key_file)
    key = asyncio.run(_admin_key(settings))
    app = create_app(settings)  # its own services, started by its lifespan
    config = SchemathesisConfig.from_dict(
        {
            "seed": 15,
            "headers": {"X-API-Key": key},
            # Bounded: about 30 s of CPU on one core (fuzzing two thirds, coverage a third).
            "generation": {"max-examples": 20, "mode": "all"},
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    schema.hook(filter_failure)
    try:
        stream = list(from_schema(schema).execute())
    finally:
        asgi.shutdown_lifespans()
    finished = [e for e in stream if isinstance(e, events.EngineFinished)]
    assert finished and finished[0].stop_reason == "completed"
    tested = {e.recorder.label for e in stream if isinstance(e, events.ScenarioFinished)}
    assert len(tested) > 25  # every operation ran (and the stateful phase)
    failures = _failures(stream)
    assert not failures, "\n".join(failures)

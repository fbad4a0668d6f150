"""Pure client behaviour: retry decisions, masking, configuration, error mapping,
and that the generated sync client is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from strongroom_client import Client, Config, RetryPolicy, Secret
from strongroom_client._core import Request, delay, retry_after
from strongroom_client.errors import (
    ApiError,
    KeyNotFoundError,
    OverloadedError,
    RateLimitedError,
    RotationInProgressError,
    ServiceError,
    TransportError,
    from_response,
)

ROOT = Path(__file__).parents[1]
POLICY = RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=1.0, max_retry_after=10)
WRITE = Request("POST", "/api/v1/rotate")
SAFE = Request("POST", "/api/v1/encrypt", idempotent=True)


def sent_error() -> TransportError:
    e = TransportError("x")
    e.__cause__ = httpx.ReadTimeout("t")
    return e


def unsent_error() -> TransportError:
    e = TransportError("x")
    e.__cause__ = httpx.ConnectError("c")
    return e


def test_retry_decisions() -> None:
    shed = OverloadedError("busy", retry_after=1.0)
    wait = delay(POLICY, 0, shed, WRITE)
    assert wait is not None and 1.0 <= wait <= 1.1  # Retry-After honoured, little jitter
    assert delay(POLICY, 3, shed, WRITE) is None  # attempts spent
    assert delay(POLICY, 0, RateLimitedError("r", retry_after=60), SAFE) is None  # too long
    assert delay(POLICY, 0, RateLimitedError("r"), SAFE) is None  # waiting will not help
    assert delay(POLICY, 0, KeyNotFoundError("k"), SAFE) is None
    assert delay(POLICY, 0, RotationInProgressError("c"), SAFE) is not None
    assert delay(POLICY, 0, RotationInProgressError("c"), WRITE) is None
    assert delay(POLICY, 0, unsent_error(), WRITE) is not None  # never reached the service
    assert delay(POLICY, 0, sent_error(), WRITE) is None  # may have rotated: never twice
    assert delay(POLICY, 0, sent_error(), SAFE) is not None
    for attempt in range(3):
        backoff = delay(POLICY, attempt, unsent_error(), SAFE)
        assert backoff is not None and 0 <= backoff <= min(1.0, 0.1 * 2**attempt)


def test_error_mapping() -> None:
    body = {"success": False, "error": {"code": "SYS001", "message": "m"}, "requestId": "r1"}
    e = from_response(503, body, None, 2.0)
    assert isinstance(e, ServiceError) and e.retryable and e.request_id == "r1"
    assert not from_response(500, body, None, None).retryable
    unknown = from_response(418, {"error": {"code": "NEW001", "message": "m"}}, "r", None)
    assert type(unknown) is ApiError and unknown.code == "NEW001"
    assert str(unknown) == "NEW001 418: m (request r)"
    assert from_response(502, "<html>", None, None).code == "HTTP502"


def test_masking_and_config_from_environment() -> None:
    s = Secret("canary-4711")
    assert s == "canary-4711" and "canary" not in repr(s) and "canary" not in repr([s])
    env = {
        "STRONGROOM_ADDR": "https://sr.example:8443",
        "STRONGROOM_API_KEY": "srk_live_canary",
        "STRONGROOM_TENANT": "acme",
    }
    config = Config.resolve(env, token="tok-canary")
    assert config.addr == "https://sr.example:8443" and config.tenant == "acme"
    headers = config.headers()
    assert headers["X-API-Key"] == "srk_live_canary" and headers["X-Tenant-Id"] == "acme"
    assert headers["Authorization"] == "Bearer tok-canary"
    assert "canary" not in repr(config)
    with Client(env=env) as c:
        assert "canary" not in repr(c)
    assert Config.resolve(env, addr="http://127.0.0.1:1").addr == "http://127.0.0.1:1"
    with pytest.raises(Exception, match="addr"):
        Config.resolve({"STRONGROOM_ADDR": "ftp://x"})


def test_retry_after_forms() -> None:
    def answer(value: str) -> float | None:
        return retry_after(httpx.Response(429, headers={"Retry-After": value}))

    assert answer("3") == 3.0 and answer("-1") == 0.0
    assert answer("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert answer("soon") is None and answer("") is None


def test_request_paths_are_encoded_and_logged_as_templates() -> None:
    r = Request("GET", "/api/v1/keys/{userId}", {"userId": "a/b c"})
    assert r.url() == "/api/v1/keys/a%2Fb%20c"
    assert r.path == "/api/v1/keys/{userId}"


def test_generated_sync_client_is_current() -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "unasync.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout


def test_api_reference_is_current() -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "apidoc.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout

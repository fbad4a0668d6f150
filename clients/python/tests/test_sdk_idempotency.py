"""Idempotency keys on writes: which requests get one, when retries keep or renew it."""

from __future__ import annotations

import httpx

from strongroom_client._config import RetryPolicy
from strongroom_client._core import Request, delay
from strongroom_client.errors import (
    IdempotencyInFlightError,
    RotationInProgressError,
    ServiceError,
    TransportError,
    from_response,
)

POLICY = RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=1.0, max_retry_after=10)


def lost() -> TransportError:
    e = TransportError("x")
    e.__cause__ = httpx.ReadTimeout("t")
    return e


def test_writes_under_the_api_get_a_fresh_key_reads_none() -> None:
    create = Request("POST", "/api/v1/keys").keyed()
    other = Request("POST", "/api/v1/keys").keyed()
    assert create.idempotency_key and other.idempotency_key
    assert create.idempotency_key != other.idempotency_key
    assert create.keyed() is create  # kept once given
    assert create.headers() == {"Idempotency-Key": create.idempotency_key}
    assert Request("PATCH", "/api/v1/roles/{name}").keyed().idempotency_key
    assert Request("GET", "/api/v1/keys/{userId}").keyed().headers() is None
    assert Request("PUT", "/api/v1/secrets/data/{path}").keyed().idempotency_key is None
    assert Request("POST", "/mcp").keyed().idempotency_key is None


def test_a_keyed_write_is_retried_after_a_lost_answer_or_a_503() -> None:
    bare = Request("POST", "/api/v1/rotate")
    keyed = bare.keyed()
    assert delay(POLICY, 0, lost(), bare) is None  # may have been done: never twice
    assert delay(POLICY, 0, lost(), keyed) is not None  # a repeat gets the first answer
    unavailable = from_response(503, {"error": {"code": "SYS001"}}, None, None)
    assert isinstance(unavailable, ServiceError)
    assert delay(POLICY, 0, unavailable, bare) is None
    assert delay(POLICY, 0, unavailable, keyed) is not None
    # A conflict is a stored answer: not retried unless the call is repeatable anyway.
    assert delay(POLICY, 0, RotationInProgressError("c", status=409), keyed) is None
    in_flight = IdempotencyInFlightError("busy", status=409, retry_after=1.0)
    assert delay(POLICY, 0, in_flight, keyed) is not None


def test_the_key_is_kept_for_the_first_answer_and_renewed_after_a_4xx() -> None:
    keyed = Request("POST", "/api/v1/encrypt", idempotent=True).keyed()
    key = keyed.idempotency_key
    assert keyed.after(lost()).idempotency_key == key
    assert keyed.after(ServiceError("s", status=503)).idempotency_key == key
    assert keyed.after(IdempotencyInFlightError("b", status=409)).idempotency_key == key
    renewed = keyed.after(RotationInProgressError("c", status=409)).idempotency_key
    assert renewed and renewed != key

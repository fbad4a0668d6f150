"""Blind index through the client and the service: equal (normalised) inputs give
equal tokens under one key; other users, fields or options give unrelated ones."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom_client import Client, KeyNotFoundError
from strongroom_client.errors import InvalidInputError, PermissionDeniedError
from tests.client.conftest import ThreadServer


def user() -> str:
    return f"b-{uuid.uuid4().hex[:12]}"


async def test_tokens_per_user_field_and_options(sr: Any) -> None:
    alice, bob = user(), user()
    await sr.keys.create(alice)
    await sr.keys.create(bob)
    bi = sr.blind_index
    a = await bi.tokens("email", ["Alice@Example.com", "alice@example.com "], user_id=alice)
    assert a[0] != a[1]  # no normalisation asked for
    n = await bi.tokens(
        "email",
        ["Alice@Example.com", " alice@example.COM"],
        user_id=alice,
        normalize=["case", "whitespace"],
    )
    assert n[0] == n[1] and n[0] not in a
    again = await bi.tokens("email", ["Alice@Example.com"], user_id=alice)
    assert again == a[:1]  # deterministic
    other_user = await bi.tokens("email", ["Alice@Example.com"], user_id=bob)
    other_field = await bi.tokens("login", ["Alice@Example.com"], user_id=alice)
    tenant_wide = await bi.tokens("email", ["Alice@Example.com"])
    assert len({a[0], other_user[0], other_field[0], tenant_wide[0]}) == 4
    phone = await bi.tokens("phone", ["+1 (555) 010-9999", "15550109999"], normalize=["digits"])
    assert phone[0] == phone[1]
    short = await bi.tokens("email", ["Alice@Example.com"], user_id=alice, length=4)
    assert len(short[0]) == 6  # 4 bytes, base64url
    with pytest.raises(KeyNotFoundError):
        await bi.tokens("email", ["x"], user_id=user())
    with pytest.raises(InvalidInputError):
        await bi.tokens("email", ["x"], normalize=["soundex"])
    with pytest.raises(InvalidInputError):
        await bi.tokens("email", ["x"], length=2)


@pytest.fixture(scope="module")
def client(service: ThreadServer, admin_key: str) -> Iterator[Client]:
    with Client(service.addr, api_key=admin_key, env={}) as c:
        c.keys.create("hypothesis-user")
        yield c


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(st.characters(exclude_categories=["Cs"]), max_size=12), max_size=20))
def test_property_equal_tokens_exactly_for_equal_normalised_inputs(
    client: Client, values: list[str]
) -> None:
    out = client.blind_index.tokens(
        "name", values, user_id="hypothesis-user", normalize=["whitespace", "case"]
    )
    assert len(out) == len(values)
    for i, vi in enumerate(values):
        for j, vj in enumerate(values):
            assert (out[i] == out[j]) == (normal(vi) == normal(vj))


def normal(value: str) -> str:
    """What docs/blind-index.md says: NFC, then whitespace, then case."""
    return " ".join(unicodedata.normalize("NFC", value).split()).casefold()


def test_encrypt_only_and_own_scoped_principals(service: ThreadServer, admin_key: str) -> None:
    dana = user()
    with Client(service.addr, api_key=admin_key, env={}) as admin:
        admin.keys.create(dana)
    with Client(service.addr, api_key=service.access_key("encrypt-only"), env={}) as app:
        assert len(app.blind_index.tokens("email", ["d@x"], user_id=dana)) == 1
    auditor_key = service.access_key("auditor")
    with (
        Client(service.addr, api_key=auditor_key, env={}) as auditor,
        pytest.raises(PermissionDeniedError),
    ):
        auditor.blind_index.tokens("email", ["d@x"], user_id=dana)

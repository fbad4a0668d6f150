"""Every cache user loads one entry once, however many requests miss it together
(strongroom/caching.py, issue #14): counted on the real components, on SQLite and
PostgreSQL, with loads counted at the repository function or the KMS."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from strongroom.access.revocation import RevokedTokens
from strongroom.kms.interfaces import Wrapped
from strongroom.services.container import Services
from strongroom.store import access_repo, keys_repo, roles_repo, tokens_repo
from tests.integration.test_key_feed import ACTOR, replicas  # noqa: F401

N = 100


def count_calls(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    """Patch ``module.name`` (an async repository function) to count its calls."""
    calls: list[int] = []
    original = getattr(module, name)

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return await original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


async def together(call: Callable[[], Awaitable[Any]]) -> list[Any]:
    return await asyncio.gather(*(call() for _ in range(N)))


class CountingKms:
    def __init__(self, inner: Any) -> None:
        self.inner, self.unwraps = inner, 0

    async def unwrap(self, wrapped: Wrapped, context: dict[str, str]) -> bytes:
        self.unwraps += 1
        result: bytes = await self.inner.unwrap(wrapped, context)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_concurrent_authentications_of_a_cold_access_key_read_it_once(
    replicas: tuple[Services, Services],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, _ = replicas
    _, key = await a.access.create("default", ["encrypt-only"])
    a.access._cache.clear()
    reads = count_calls(monkeypatch, access_repo, "get")
    principals = await together(lambda: a.access.authenticate(key, "rid", None))
    assert {p.tenant for p in principals} == {"default"}
    assert len(reads) == 1


async def test_concurrent_cold_decrypts_unwrap_a_private_key_once(
    replicas: tuple[Services, Services],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, _ = replicas
    await a.keys.create(ACTOR, "x", "x25519-hpke", None)
    texts = [(await a.keys.encrypt(ACTOR, "x", [f"item {i}"], None))[0] for i in range(N)]
    a.keys.core.caches.clear()
    kms = CountingKms(a.keys.core.cipher._kms)
    monkeypatch.setattr(a.keys.core.cipher, "_kms", kms)
    materials = count_calls(monkeypatch, keys_repo, "get_material")
    # A hundred requests, each with its own data key, all needing version 1's key.
    opened = await asyncio.gather(*(a.keys.decrypt(ACTOR, "x", [t], None) for t in texts))
    assert [o[0] for o in opened] == [f"item {i}" for i in range(N)]
    assert kms.unwraps == 1 and len(materials) == 1
    # The same ciphertext a hundred times: one data key opened, still one unwrap.
    a.keys.core.caches.clear()
    same = await together(lambda: a.keys.decrypt(ACTOR, "x", [texts[0]], None))
    assert same == [["item 0"]] * N and kms.unwraps == 2


async def test_concurrent_cold_metadata_loads_read_the_key_once(
    replicas: tuple[Services, Services],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, _ = replicas
    await a.keys.create(ACTOR, "m", None, None)
    await a.feed.poll_once()
    a.keys.core.caches.clear()
    reads = count_calls(monkeypatch, keys_repo, "get_key")
    infos = await together(lambda: a.keys.core.load("default", "m"))
    assert {i.user_id for i in infos} == {"m"} and len(reads) == 1


async def test_concurrent_role_resolutions_read_the_tenant_once(
    replicas: tuple[Services, Services],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, _ = replicas
    reads = count_calls(monkeypatch, roles_repo, "grants_by_name")
    grants = await together(lambda: a.roles.resolve("default", ["auditors-custom"]))
    assert grants == [frozenset()] * N and len(reads) == 1


async def test_concurrent_revocation_checks_load_the_snapshot_once(
    replicas: tuple[Services, Services],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, _ = replicas
    revoked = RevokedTokens(a.db, a.audit)
    reads = count_calls(monkeypatch, tokens_repo, "unexpired")
    answers = await together(lambda: revoked.is_revoked("https://idp", "jti", "default"))
    assert answers == [False] * N and len(reads) == 1
    await revoked.revoke(ACTOR, "https://idp", "jti", "default", None)
    # Revoked here: refused at once, by one new read shared by every caller.
    answers = await together(lambda: revoked.is_revoked("https://idp", "jti", "default"))
    assert answers == [True] * N and len(reads) == 2
    await revoked.close()

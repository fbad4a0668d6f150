"""Baseline (a): the crypto layer alone, in this process, no HTTP, one core.

Encrypt = ``envelope.new_data_key`` once per batch, then ``DataKey.seal`` per
item, ``codec.b64url`` and the text prefix. Decrypt = ``codec.parse_text`` per
item, ``envelope.open_data_key`` once per batch (items of a batch share a
header; no data-key cache) and ``DataKey.open`` per item.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from strongroom.crypto import codec, envelope, suites
from strongroom.crypto.binding import Binding

PREFIX = "sr"
TENANT = "default"
VERSION = 1


@dataclass(frozen=True)
class UserKey:
    binding: Binding
    recipient: Any
    private: Any


def user_key(key_type: str, user_id: str) -> UserKey:
    suite = suites.KEY_TYPES[key_type]
    material = suites.generate(suite)
    binding = Binding(int(suite), TENANT, user_id, VERSION)
    if not suites.is_asymmetric(suite):
        return UserKey(binding, material.private, material.private)
    pub = suites.load_public(suite, material.public)
    return UserKey(binding, pub, suites.load_private(suite, material.private))


def encrypt(key: UserKey, data: list[str]) -> list[str]:
    dk = envelope.new_data_key(key.binding, key.recipient)
    head = codec.text_prefix(PREFIX, key.binding.version)
    return [head + codec.b64url(dk.seal(s.encode())) for s in data]


def decrypt(key: UserKey, texts: list[str]) -> list[str]:
    payloads = [codec.parse_text(PREFIX, t)[1] for t in texts]
    dk = envelope.open_data_key(key.binding, key.private, payloads[0].header)
    return [dk.open(p).decode() for p in payloads]


def batches_per_second(fn: Callable[[], object], budget_s: float) -> float:
    """Call ``fn`` until ``budget_s`` has passed (at least 3 calls); calls per second."""
    calls = 0
    start = time.perf_counter()
    elapsed = 0.0
    while calls < 3 or elapsed < budget_s:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
    return calls / elapsed


def measure(key_type: str, data: list[str], budget_s: float) -> dict[str, float]:
    """Batches/s for encrypt and decrypt of ``data`` under a fresh key of ``key_type``."""
    key = user_key(key_type, f"inproc-{key_type}")
    texts = encrypt(key, data)
    if decrypt(key, texts) != data:
        raise AssertionError(f"in-process round trip failed for {key_type}")
    return {
        "encrypt": batches_per_second(lambda: encrypt(key, data), budget_s),
        "decrypt": batches_per_second(lambda: decrypt(key, texts), budget_s),
    }

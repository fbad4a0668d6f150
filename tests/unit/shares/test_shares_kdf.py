"""Share passphrase hashes: Argon2id with OWASP parameters, PBKDF2-SHA256 (600,000
iterations) in FIPS mode, parameters stored with each hash so they can be raised."""

from __future__ import annotations

import asyncio

from strongroom.config import Settings
from strongroom.secrets.shares_kdf import KdfParams, PassphraseHasher

LIGHT = KdfParams(argon2_time_cost=1, argon2_memory_kib=8192)


def test_argon2id_with_owasp_defaults() -> None:
    h = PassphraseHasher(KdfParams())
    stored = h.hash("correct horse")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert h.verify(stored, "correct horse")
    assert not h.verify(stored, "correct horsE")
    assert h.hash("correct horse") != stored  # salted


def test_fips_mode_uses_pbkdf2_sha256_600k() -> None:
    h = PassphraseHasher(KdfParams(fips=True))
    stored = h.hash("pw")
    assert stored.startswith("$pbkdf2-sha256$i=600000$")
    assert h.algorithm == "pbkdf2-sha256"
    assert h.verify(stored, "pw") and not h.verify(stored, "pW")


def test_raised_parameters_still_verify_old_hashes() -> None:
    old = PassphraseHasher(LIGHT).hash("pw")
    fips_old = PassphraseHasher(KdfParams(fips=True)).hash("pw")
    raised = PassphraseHasher(KdfParams(argon2_time_cost=3, argon2_memory_kib=32768))
    assert raised.hash("pw").startswith("$argon2id$v=19$m=32768,t=3,p=1$")
    assert raised.verify(old, "pw")
    assert raised.verify(fips_old, "pw")  # a share made in FIPS mode, verified after


def test_malformed_stored_hashes_verify_nothing() -> None:
    h = PassphraseHasher(LIGHT)
    for stored in ("", "$argon2id$garbage", "$pbkdf2-sha256$i=x$a$b", "$pbkdf2-sha256$"):
        assert not h.verify(stored, "pw")


def test_async_forms_run_off_the_loop() -> None:
    h = PassphraseHasher(LIGHT)

    async def both() -> bool:
        return await h.verify_async(await h.hash_async("pw"), "pw")

    assert asyncio.run(both())


def test_fips_mode_is_one_setting(monkeypatch: object) -> None:
    assert Settings(fips=True).compliance.fips
    assert Settings().shares.pbkdf2_iterations == 600_000

"""Local KMS backend: the master key file and AES-256-GCM wrapping bound to a context."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.kms.interfaces import KmsError, Wrapped, encode_context
from strongroom.kms.local import (
    MASTER_KEY_LEN,
    LocalKms,
    MasterKeyFileError,
    create_master_key_file,
    read_master_key_file,
)

CTX = {"tenant": "t1", "user": "u1", "version": "1", "type": "x25519-hpke"}
SECRET = bytes(range(32))


def _write_key(path: Path, data: bytes, mode: int = 0o600) -> None:
    path.write_bytes(data)
    path.chmod(mode)


# -- create_master_key_file ---------------------------------------------------


def test_create_makes_32_random_bytes_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "strongroom.key"
    assert create_master_key_file(path) is True
    assert path.stat().st_mode & 0o777 == 0o600
    assert stat.S_ISREG(path.stat().st_mode)
    data = path.read_bytes()
    assert len(data) == MASTER_KEY_LEN == 32
    # Fresh randomness each time, and never an all-zero placeholder.
    other = tmp_path / "other.key"
    assert create_master_key_file(other) is True
    assert other.read_bytes() != data
    assert data != bytes(32)


def test_create_mode_ignores_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "k"
        assert create_master_key_file(path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o600


def test_create_leaves_existing_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "strongroom.key"
    _write_key(path, b"existing key material, 32 bytes!")
    before = path.stat()
    assert create_master_key_file(path) is False
    assert path.read_bytes() == b"existing key material, 32 bytes!"
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_mode) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_mode,
    )


def test_create_does_not_overwrite_even_a_malformed_file(tmp_path: Path) -> None:
    path = tmp_path / "strongroom.key"
    _write_key(path, b"short", 0o644)
    assert create_master_key_file(path) is False
    assert path.read_bytes() == b"short"
    assert path.stat().st_mode & 0o777 == 0o644


def test_created_file_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "strongroom.key"
    create_master_key_file(path)
    assert read_master_key_file(path) == path.read_bytes()


# -- read_master_key_file -----------------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620, 0o602, 0o610, 0o601])
def test_read_refuses_group_or_other_access(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "strongroom.key"
    _write_key(path, SECRET, mode)
    with pytest.raises(MasterKeyFileError, match="chmod 600") as info:
        read_master_key_file(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_read_accepts_owner_only(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "strongroom.key"
    _write_key(path, SECRET, mode)
    assert read_master_key_file(path) == SECRET


@pytest.mark.parametrize("length", [0, 1, 16, 31, 33, 64])
def test_read_refuses_wrong_length(tmp_path: Path, length: int) -> None:
    path = tmp_path / "strongroom.key"
    _write_key(path, b"k" * length)
    with pytest.raises(MasterKeyFileError, match="32 bytes"):
        read_master_key_file(path)


def test_read_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyFileError, match="not found"):
        read_master_key_file(tmp_path / "absent.key")


def test_from_file_refuses_unsafe_file(tmp_path: Path) -> None:
    path = tmp_path / "strongroom.key"
    _write_key(path, SECRET, 0o644)
    with pytest.raises(MasterKeyFileError):
        LocalKms.from_file(path)


@pytest.mark.parametrize("length", [0, 16, 31, 33])
def test_local_kms_rejects_wrong_key_length(length: int) -> None:
    with pytest.raises(ValueError):
        LocalKms(b"k" * length)


# -- wrap / unwrap ------------------------------------------------------------


async def test_wrap_unwrap_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "strongroom.key"
    create_master_key_file(path)
    kms = LocalKms.from_file(path)
    wrapped = await kms.wrap(SECRET, CTX)
    assert wrapped.key_ref == kms.key_ref
    assert kms.key_ref.startswith("local:")
    assert SECRET not in wrapped.blob
    # format byte + key id + nonce + ciphertext + tag
    assert len(wrapped.blob) == 1 + 8 + 12 + len(SECRET) + 16
    assert await kms.unwrap(wrapped, CTX) == SECRET
    # The same master key loaded again (e.g. after a restart) opens it too.
    assert await LocalKms.from_file(path).unwrap(wrapped, dict(reversed(CTX.items()))) == SECRET


@given(plaintext=st.binary(max_size=200), ctx=st.dictionaries(st.text(), st.text(), max_size=4))
async def test_round_trip_any_plaintext_and_context(plaintext: bytes, ctx: dict[str, str]) -> None:
    kms = LocalKms(SECRET)
    assert await kms.unwrap(await kms.wrap(plaintext, ctx), ctx) == plaintext


async def test_wrap_uses_fresh_nonce() -> None:
    kms = LocalKms(SECRET)
    a, b = await kms.wrap(SECRET, CTX), await kms.wrap(SECRET, CTX)
    assert a.blob != b.blob


@pytest.mark.parametrize(
    "other",
    [
        {**CTX, "user": "u2"},
        {**CTX, "version": "2"},
        {k: v for k, v in CTX.items() if k != "type"},
        {**CTX, "extra": ""},
        {},
    ],
)
async def test_unwrap_with_other_context_fails(other: dict[str, str]) -> None:
    kms = LocalKms(SECRET)
    wrapped = await kms.wrap(b"material", CTX)
    with pytest.raises(KmsError):
        await kms.unwrap(wrapped, other)


async def test_unwrap_with_other_master_key_fails() -> None:
    wrapped = await LocalKms(SECRET).wrap(b"material", CTX)
    other = LocalKms(bytes(reversed(SECRET)))
    assert other.key_ref != LocalKms(SECRET).key_ref
    with pytest.raises(KmsError):
        await other.unwrap(wrapped, CTX)


async def test_unwrap_with_other_master_key_and_forged_key_id_fails() -> None:
    """Even if the key id is rewritten to match, the GCM tag still refuses."""
    wrapped = await LocalKms(SECRET).wrap(b"material", CTX)
    other = LocalKms(bytes(reversed(SECRET)))
    forged = Wrapped(other.key_ref, wrapped.blob[:1] + other.key_id + wrapped.blob[9:])
    with pytest.raises(KmsError):
        await other.unwrap(forged, CTX)


async def test_unwrap_any_flipped_byte_fails() -> None:
    kms = LocalKms(SECRET)
    wrapped = await kms.wrap(b"material", CTX)
    for i in range(len(wrapped.blob)):
        for mask in (0x01, 0x80, 0xFF):
            blob = bytearray(wrapped.blob)
            blob[i] ^= mask
            with pytest.raises(KmsError):
                await kms.unwrap(Wrapped(wrapped.key_ref, bytes(blob)), CTX)


async def test_unwrap_truncated_or_extended_blob_fails() -> None:
    kms = LocalKms(SECRET)
    wrapped = await kms.wrap(b"material", CTX)
    for n in range(len(wrapped.blob)):
        with pytest.raises(KmsError):
            await kms.unwrap(Wrapped(wrapped.key_ref, wrapped.blob[:n]), CTX)
    with pytest.raises(KmsError):
        await kms.unwrap(Wrapped(wrapped.key_ref, wrapped.blob + b"\x00"), CTX)


async def test_health_and_close() -> None:
    kms = LocalKms(SECRET)
    assert await kms.health() is True
    await kms.close()


# -- encode_context -----------------------------------------------------------

contexts = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=5)


@given(a=contexts, b=contexts)
def test_encode_context_is_injective(a: dict[str, str], b: dict[str, str]) -> None:
    assert (encode_context(a) == encode_context(b)) == (a == b)


@given(ctx=contexts, data=st.data())
def test_encode_context_ignores_insertion_order(ctx: dict[str, str], data: st.DataObject) -> None:
    items = data.draw(st.permutations(list(ctx.items())))
    assert encode_context(dict(items)) == encode_context(ctx)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"a": "bc"}, {"ab": "c"}),
        ({"a": "b", "c": "d"}, {"a": "b\x00\x00\x00\x01c", "": "d"}),
        ({"a": ""}, {}),
        ({"": ""}, {}),
        ({"k": "v1"}, {"k": "v2"}),
    ],
)
def test_encode_context_separates_ambiguous_pairs(a: dict[str, str], b: dict[str, str]) -> None:
    assert encode_context(a) != encode_context(b)

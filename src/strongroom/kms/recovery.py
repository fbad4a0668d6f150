"""M-of-N recovery shares of the local master key (SLIP-0039 via ``shamir-mnemonic``).

SLIP-0039 is Trezor's maintained, specified Shamir scheme: each share is a list of
words with its own checksum, so a mistyped share is rejected rather than silently
rebuilding a wrong key, and fewer than M shares reveal nothing about the key. An
optional passphrase is applied on top (without it, M shares alone suffice).

A key check value (first 8 bytes of HMAC-SHA256(key, "strongroom-kcv"), hex) is
printed on export and on import so custodians can confirm they rebuilt the same
key without ever showing it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from pathlib import Path

import shamir_mnemonic

from strongroom.kms.local import MASTER_KEY_LEN, MasterKeyFileError, read_master_key_file


class RecoveryError(Exception):
    """The shares could not rebuild a master key (too few, mixed sets, typo, ...)."""


def key_check_value(key: bytes) -> str:
    return hmac.new(key, b"strongroom-kcv", hashlib.sha256).digest()[:8].hex()


def export_shares(
    key_file: Path, threshold: int, count: int, passphrase: bytes = b""
) -> tuple[list[str], str]:
    """Split the master key into ``count`` shares, any ``threshold`` of which rebuild it."""
    if not 1 <= threshold <= count <= 16:
        raise RecoveryError("need 1 <= threshold <= shares <= 16")
    key = read_master_key_file(key_file)
    groups: list[list[str]] = shamir_mnemonic.generate_mnemonics(
        1, [(threshold, count)], key, passphrase
    )
    return groups[0], key_check_value(key)


def rebuild_key(shares: Iterable[str], passphrase: bytes = b"") -> bytes:
    words = [" ".join(s.split()) for s in shares if s.strip()]
    try:
        key: bytes = shamir_mnemonic.combine_mnemonics(words, passphrase)
    except (shamir_mnemonic.MnemonicError, ValueError) as exc:
        # The library's message names the problem (checksum, threshold), never a word.
        raise RecoveryError(str(exc)) from None
    if len(key) != MASTER_KEY_LEN:
        raise RecoveryError("shares do not hold a Strongroom master key")
    return key


def import_shares(shares: Iterable[str], dest: Path, passphrase: bytes = b"") -> str:
    """Write the rebuilt key to a new file (mode 0600, never overwriting); returns its KCV."""
    key = rebuild_key(shares, passphrase)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise MasterKeyFileError(f"{dest} exists; refusing to overwrite a master key") from None
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    return key_check_value(key)

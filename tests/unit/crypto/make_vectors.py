"""Generate ``vectors/ciphertext_v1.json``: decryption test vectors for the ciphertext format.

Usage (from the repository root)::

    PYTHONPATH=src python tests/unit/crypto/make_vectors.py [OUTPUT]

Encryption is randomised (fresh keys, data keys, salts and nonces), so every run
writes different but equally valid vectors; the file is a decrypt-side
known-answer test and is regenerated only when vectors are added. Never
regenerate it to make a failing test pass: a vector that stops opening means the
format changed, which docs/ciphertext.md forbids for an existing suite.

Each valid vector carries the key material in ``suites.generate`` serialisation,
the binding inputs, the binding encoding, the intermediate data key, item key and
commitment, and one or more items sealed under that one data key. Each invalid
vector is self-contained (key, binding inputs, text) and must fail to open.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strongroom.crypto import codec, envelope, suites
from strongroom.crypto.binding import Binding, lp
from strongroom.crypto.suites import SuiteId

PREFIX = "sr"
OUT = Path(__file__).parent / "vectors" / "ciphertext_v1.json"


@dataclass
class Spec:
    name: str
    key_type: str
    tenant: str
    user_id: str
    version: int
    context: str
    items: list[bytes]
    invalid: list[str] = field(default_factory=list)  # names of derived negatives


SPECS = [
    Spec(
        "x25519-batch-no-context",
        "x25519-hpke",
        "acme",
        "alice@example.com",
        1,
        "",
        [b"hello, world", b"", b'{"ssn":"078-05-1120"}'],
        [
            "wrong-context",
            "wrong-user",
            "wrong-tenant",
            "wrong-version",
            "tampered-ciphertext",
            "tampered-tag",
            "tampered-nonce",
            "tampered-commitment",
            "tampered-header",
            "truncated",
            "suite-relabelled",
            "header-swapped",
        ],
    ),
    Spec(
        "x25519-unicode-max-version",
        "x25519-hpke",
        "m\u00fcnchen-\u6771\u4eac",
        "\u00e9milie",
        2**32 - 1,
        "caf\u00e9 \U0001f510 ctx",
        [bytes(range(256))],
    ),
    Spec(
        "p256-context",
        "p256-hpke",
        "acme",
        "bob",
        7,
        "invoice:2026-11",
        [b"first item", b"second item"],
        ["wrong-context", "wrong-user", "tampered-ciphertext"],
    ),
    Spec(
        "mlkem768-x25519-single",
        "mlkem768-x25519-hpke",
        "acme",
        "carol",
        2,
        "pq",
        [b"post-quantum hello"],
    ),
    Spec(
        "aes256-gcm-context",
        "aes256-gcm",
        "acme",
        "dave",
        3,
        "db:users.ssn",
        [b"078-05-1120", b"\x00\xff"],
        ["wrong-context", "wrong-user", "wrong-version", "tampered-header", "tampered-tag"],
    ),
    Spec(
        "aes256-gcm-colons",
        "aes256-gcm",
        "a:b",
        "c",
        1,
        "d:e",
        [b"colons are data, not separators"],
    ),
]


def _text(version: int, raw: bytes) -> str:
    return codec.text_prefix(PREFIX, version) + codec.b64url(raw)


def _flip(raw: bytes, pos: int) -> bytes:
    b = bytearray(raw)
    b[pos] ^= 0x01
    return bytes(b)


def _data_key(suite: SuiteId, private: Any, binding: Binding, header: bytes) -> bytes:
    if suite is SuiteId.AES256_GCM:
        return envelope._symmetric_dk(private, header, binding)
    return suites.hpke_suite(suite).decrypt(header, private, info=binding.encode())


def _key_record(key_type: str, km: suites.KeyMaterial) -> dict[str, Any]:
    return {
        "key_type": key_type,
        "suite": int(suites.KEY_TYPES[key_type]),
        "private_key": km.private.hex(),
        "public_key": km.public.hex(),
    }


def _binding_record(binding: Binding) -> dict[str, Any]:
    return {
        "tenant": binding.tenant,
        "user_id": binding.user_id,
        "version": binding.version,
        "context": binding.context,
        "binding": binding.encode().hex(),
    }


def build() -> dict[str, Any]:
    valid: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    for spec in SPECS:
        suite = suites.KEY_TYPES[spec.key_type]
        km = suites.generate(suite)
        asym = suites.is_asymmetric(suite)
        private = suites.load_private(suite, km.private) if asym else km.private
        recipient = suites.load_public(suite, km.public) if asym else km.private
        binding = Binding(suite, spec.tenant, spec.user_id, spec.version, spec.context)

        dk = envelope.new_data_key(binding, recipient)
        raws = dk.seal_batch(spec.items)
        data_key = _data_key(suite, private, binding, dk.header)
        okm = envelope._hkdf(data_key, None, lp(b"sr-dk-expand", binding.encode()), 64)
        assert okm[32:] == dk.commitment
        valid.append(
            {
                "name": spec.name,
                **_key_record(spec.key_type, km),
                **_binding_record(binding),
                "data_key": data_key.hex(),
                "item_key": okm[:32].hex(),
                "commitment": okm[32:].hex(),
                "items": [
                    {"ciphertext": _text(spec.version, raw), "plaintext": item.hex()}
                    for raw, item in zip(raws, spec.items, strict=True)
                ],
            }
        )

        raw = raws[0]
        h = codec.HEADER_LEN[suite]
        other_raw = envelope.new_data_key(binding, recipient).seal(spec.items[0])
        for kind in spec.invalid:
            b, version, why = binding, spec.version, ""
            if kind == "wrong-context":
                b = Binding(suite, spec.tenant, spec.user_id, spec.version, spec.context + "x")
                why = "opened with another context"
            elif kind == "wrong-user":
                b = Binding(suite, spec.tenant, "mallory", spec.version, spec.context)
                why = "moved to another user id (same key material)"
            elif kind == "wrong-tenant":
                b = Binding(suite, "evil-corp", spec.user_id, spec.version, spec.context)
                why = "moved to another tenant (same key material)"
            elif kind == "wrong-version":
                version = spec.version + 1
                b = Binding(suite, spec.tenant, spec.user_id, version, spec.context)
                why = "version in the text edited; the opener binds the edited version"
            text = _text(version, raw)
            if kind == "tampered-ciphertext":
                text, why = _text(version, _flip(raw, 47 + h)), "first ciphertext byte flipped"
            elif kind == "tampered-tag":
                text, why = _text(version, _flip(raw, len(raw) - 1)), "last tag byte flipped"
            elif kind == "tampered-nonce":
                text, why = _text(version, _flip(raw, 35 + h)), "nonce byte flipped"
            elif kind == "tampered-commitment":
                text, why = _text(version, _flip(raw, 3 + h)), "commitment byte flipped"
            elif kind == "tampered-header":
                text, why = _text(version, _flip(raw, 3 + h // 2)), "header byte flipped"
            elif kind == "truncated":
                text, why = _text(version, raw[:-1]), "last payload byte removed"
            elif kind == "suite-relabelled":
                relabelled = bytes([SuiteId.P256_HPKE]) + raw[1:]
                text, why = _text(version, relabelled), "suite byte changed 1 -> 2"
            elif kind == "header-swapped":
                text = _text(version, other_raw[: 3 + h] + raw[3 + h :])
                why = "header of another data key with this item's commitment and body"
            invalid.append(
                {
                    "name": f"{spec.name}/{kind}",
                    "description": why,
                    **_key_record(spec.key_type, km),
                    **_binding_record(b),
                    "ciphertext": text,
                }
            )
    return {
        "description": (
            "Strongroom ciphertext format v1 (docs/ciphertext.md): decryption test vectors. "
            "Every 'valid' item must open to its plaintext (hex); every 'invalid' entry must "
            "fail with the single opaque ciphertext error. Hex strings are lowercase."
        ),
        "format_tag": "sr-ct-1",
        "prefix": PREFIX,
        "generator": "tests/unit/crypto/make_vectors.py",
        "valid": valid,
        "invalid": invalid,
    }


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv)

"""The plaintexts every system encrypts: 64-byte ASCII strings, deterministic."""

from __future__ import annotations

import base64
import json
import random
import string
from pathlib import Path
from typing import Any

ITEM_LEN = 64
_ALPHABET = string.ascii_letters + string.digits


def items(n: int, seed: int = 1) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choices(_ALPHABET, k=ITEM_LEN)) for _ in range(n)]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def strongroom_body(user_id: str, data: list[str]) -> dict[str, Any]:
    return {"userId": user_id, "data": data}


def bao_encrypt_body(data: list[str]) -> dict[str, Any]:
    if len(data) == 1:
        return {"plaintext": b64(data[0])}
    return {"batch_input": [{"plaintext": b64(x)} for x in data]}


def bao_decrypt_body(ciphertexts: list[str]) -> dict[str, Any]:
    if len(ciphertexts) == 1:
        return {"ciphertext": ciphertexts[0]}
    return {"batch_input": [{"ciphertext": c} for c in ciphertexts]}


def write_body(directory: Path, name: str, body: dict[str, Any]) -> Path:
    path = directory / f"{name}.json"
    path.write_text(json.dumps(body, separators=(",", ":")))
    return path

"""How to talk to each system's encrypt/decrypt endpoints, and sanity checks."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from srbench import payloads

Json = dict[str, Any]


class CheckFailed(RuntimeError):
    """A probe request was not accepted; benchmarking it would measure errors."""


@dataclass(frozen=True)
class Api:
    system: str
    key_type: str
    headers: dict[str, str]
    encrypt_url: str
    decrypt_url: str
    encrypt_body: Callable[[list[str]], Json]
    decrypt_body: Callable[[list[str]], Json]
    ciphertexts: Callable[[Json], list[str]]
    plaintexts: Callable[[Json], list[str]]
    verify: Callable[[list[str]], None] = lambda cts: None
    pgid: int | None = None  # the server's process group, for CPU accounting
    db_pgids: tuple[int, ...] = ()  # its database server's, counted with it (not as "other")


# Suite byte at the start of every Strongroom payload (public wire contract).
SUITE_IDS = {"x25519-hpke": 1, "p256-hpke": 2, "mlkem768-x25519-hpke": 3, "aes256-gcm": 4}


def _suite_of(text: str) -> int:
    payload = text.rsplit(":", 1)[-1]
    return base64.urlsafe_b64decode(payload[:4] + "==")[0]


def _suite_checker(key_type: str) -> Callable[[list[str]], None]:
    def verify(cts: list[str]) -> None:
        got = {_suite_of(c) for c in cts}
        if got != {SUITE_IDS[key_type]}:
            raise CheckFailed(f"{key_type} ciphertexts carry suite ids {sorted(got)}")

    return verify


def strongroom_api(
    base: str, headers: dict[str, str], key_type: str, user: str, pgid: int | None = None
) -> Api:
    return Api(
        system="strongroom",
        key_type=key_type,
        headers=headers,
        encrypt_url=f"{base}/api/v1/encrypt",
        decrypt_url=f"{base}/api/v1/decrypt",
        encrypt_body=lambda d: payloads.strongroom_body(user, d),
        decrypt_body=lambda d: payloads.strongroom_body(user, d),
        ciphertexts=lambda r: list(r["encryptedData"]),
        plaintexts=lambda r: list(r["decryptedData"]),
        verify=_suite_checker(key_type),
        pgid=pgid,
    )


def _bao_results(resp: Json, field: str) -> list[str]:
    data = resp["data"]
    if "batch_results" not in data:
        return [data[field]]
    errors = [x["error"] for x in data["batch_results"] if x.get("error")]
    if errors:
        raise CheckFailed(f"OpenBao batch item errors: {errors[:3]}")
    return [x[field] for x in data["batch_results"]]


def _bao_plaintexts(resp: Json) -> list[str]:
    return [base64.b64decode(x).decode() for x in _bao_results(resp, "plaintext")]


def openbao_api(
    urls: Callable[[str], str], headers: dict[str, str], key_type: str, pgid: int | None = None
) -> Api:
    return Api(
        system="openbao",
        key_type=key_type,
        headers=headers,
        encrypt_url=urls("encrypt"),
        decrypt_url=urls("decrypt"),
        encrypt_body=payloads.bao_encrypt_body,
        decrypt_body=payloads.bao_decrypt_body,
        ciphertexts=lambda r: _bao_results(r, "ciphertext"),
        plaintexts=_bao_plaintexts,
        pgid=pgid,
    )


def probe(api: Api, url: str, body: Json) -> Json:
    """One request via httpx; must answer 200 with a JSON object."""
    try:
        r = httpx.post(url, json=body, headers=api.headers, timeout=30)
    except httpx.HTTPError as e:
        raise CheckFailed(f"{url}: {type(e).__name__}: {e}") from None
    if r.status_code != 200:
        raise CheckFailed(f"{url}: HTTP {r.status_code} {r.text[:300]}")
    result: Json = r.json()
    return result


def check_encrypt(api: Api, data: list[str]) -> list[str]:
    cts = api.ciphertexts(probe(api, api.encrypt_url, api.encrypt_body(data)))
    if len(cts) != len(data) or not all(isinstance(c, str) and c for c in cts):
        raise CheckFailed(f"encrypt returned {len(cts)} items for {len(data)}")
    api.verify(cts)
    return cts


def check_decrypt(api: Api, cts: list[str], expected: list[str]) -> None:
    got = api.plaintexts(probe(api, api.decrypt_url, api.decrypt_body(cts)))
    if got != expected:
        raise CheckFailed("decrypt did not return the original plaintexts")

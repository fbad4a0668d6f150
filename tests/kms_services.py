"""KMS services for the tests: a SoftHSM2 token, moto's KMS in server mode, and an
OpenBao server with raft storage that can be stopped and restarted with its keys.

Loaded as a plugin from ``tests/conftest.py``. Fixtures:

``softhsm_token``
    A SoftHSM2 token initialised in a scratch directory (``SOFTHSM2_CONF`` is set
    for the whole test process, before python-pkcs11 loads the library).
``moto_kms``
    ``moto_server`` on 127.0.0.1 and one symmetric KMS key in it; ``endpoint``,
    ``key_id``, ``region``, ``client()``. The AWS credentials are moto's dummies.
``openbao_transit``
    The session's OpenBao dev server (``openbao_server``) with transit enabled and
    a fresh ``aes256-gcm96`` key per test.
``openbao_persistent``
    An OpenBao server with raft storage, initialised and unsealed; ``stop()``
    kills it and ``start()`` brings it back on the same port with the same keys.

A missing binary or a service that does not start fails the test under
``STRONGROOM_TEST_REQUIRE_SERVICES=1`` (CI) and skips it otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.services import (
    HOST,
    OpenBaoServer,
    ServiceStartError,
    _child_env,
    _direct,
    _find_executable,
    _launch,
    _live,
    _live_lock,
    _scratch_dir,
    _spawn,
    _stop_process,
    free_port,
    openbao_healthy,
    start_or_unavailable,
)

SOFTHSM_LIBRARY_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)
AWS_REGION = "us-east-1"


def _register(stop: Any) -> None:
    """Stop at interpreter exit too (if a teardown never ran); keyed by the server."""
    with _live_lock:
        _live[id(stop.__self__)] = stop


# --------------------------------------------------------------------------
# SoftHSM2


@dataclass
class SoftHsmToken:
    library: str
    label: str
    pin: str
    base_dir: Path

    def stop(self) -> None:
        shutil.rmtree(self.base_dir, ignore_errors=True)


def start_softhsm() -> SoftHsmToken:
    util = shutil.which("softhsm2-util")
    library = next((p for p in SOFTHSM_LIBRARY_CANDIDATES if Path(p).exists()), None)
    if util is None or library is None:
        raise ServiceStartError("SoftHSM2 not installed (Debian package softhsm2)")
    base = _scratch_dir("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\nslots.removable = false\n"
    )
    # Read by the library at C_Initialize: must be set before python-pkcs11 loads it,
    # and one configuration serves the whole test process.
    os.environ["SOFTHSM2_CONF"] = str(conf)
    label, pin = "strongroom-test", "5678"
    proc = subprocess.run(
        [util, "--init-token", "--free", "--label", label, "--so-pin", "1234", "--pin", pin],
        capture_output=True,
        text=True,
        env={**os.environ},
        check=False,
    )
    if proc.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise ServiceStartError(f"softhsm2-util --init-token failed: {proc.stderr.strip()}")
    return SoftHsmToken(library, label, pin, base)


@pytest.fixture(scope="session")
def softhsm_token() -> Iterator[SoftHsmToken]:
    token = start_or_unavailable("SoftHSM2", start_softhsm)
    yield token
    token.stop()


# --------------------------------------------------------------------------
# moto (AWS KMS stand-in) in server mode


@dataclass
class MotoKms:
    port: int
    base_dir: Path
    key_id: str = ""
    region: str = AWS_REGION
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def client(self) -> Any:
        import boto3

        return boto3.client("kms", region_name=self.region, endpoint_url=self.endpoint)

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc)
        shutil.rmtree(self.base_dir, ignore_errors=True)


def _http_ok(url: str) -> bool:
    try:
        with _direct.open(url, timeout=1) as resp:
            return bool(resp.status < 500)
    except OSError:
        return False


def start_moto() -> MotoKms:
    binary = _find_executable("moto_server")
    base = _scratch_dir("moto")
    try:
        port, proc = _launch(
            "moto_server",
            base,
            lambda p: [binary, "-H", HOST, "-p", str(p)],
            lambda p: _http_ok(f"http://{HOST}:{p}/moto-api/"),
            env=_child_env(),
        )
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    server = MotoKms(port, base, proc=proc)
    server.key_id = server.client().create_key(Description="strongroom root")["KeyMetadata"][
        "KeyId"
    ]
    return server


@pytest.fixture(scope="session")
def moto_kms() -> Iterator[MotoKms]:
    # boto3 reads credentials from the environment; moto accepts any.
    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(var, value)
    os.environ.pop("AWS_PROFILE", None)
    server = start_or_unavailable("moto", start_moto)
    _register(server.stop)
    yield server
    server.stop()


# --------------------------------------------------------------------------
# OpenBao transit


def bao_request(
    addr: str, token: str | None, method: str, path: str, body: Any = None, timeout: float = 5
) -> Any:
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{addr}{path}", data=data, method=method)
    if token:
        req.add_header("X-Vault-Token", token)
    with _direct.open(req, timeout=timeout) as resp:
        text = resp.read()
    return json.loads(text) if text else {}


def enable_transit(addr: str, token: str) -> None:
    mounts = bao_request(addr, token, "GET", "/v1/sys/mounts")
    if "transit/" not in mounts.get("data", mounts):
        bao_request(addr, token, "POST", "/v1/sys/mounts/transit", {"type": "transit"})


@dataclass
class TransitKey:
    addr: str
    token: str
    key: str


@pytest.fixture
def openbao_transit(openbao_server: OpenBaoServer) -> TransitKey:
    enable_transit(openbao_server.addr, openbao_server.token)
    key = f"sr-{uuid.uuid4().hex[:12]}"
    bao_request(
        openbao_server.addr,
        openbao_server.token,
        "POST",
        f"/v1/transit/keys/{key}",
        {"type": "aes256-gcm96"},
    )
    return TransitKey(openbao_server.addr, openbao_server.token, key)


@dataclass
class PersistentOpenBao:
    """OpenBao on raft storage: survives stop()/start() with its keys."""

    binary: str
    base_dir: Path
    port: int
    token: str = ""
    unseal_key: str = ""
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def addr(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _config(self) -> Path:
        path = self.base_dir / "bao.hcl"
        (self.base_dir / "data").mkdir(exist_ok=True)
        cluster = f"{HOST}:{self.port + 1}"
        # OpenBao has no "file" storage; single-node raft persists across restarts.
        # performance_multiplier 1 (production tuning): the first leader election takes
        # ~2 s instead of ~10 s with the default (5, for slow development machines).
        path.write_text(
            f'storage "raft" {{\n path = "{self.base_dir / "data"}"\n node_id = "n1"\n'
            f" performance_multiplier = 1\n}}\n"
            f'listener "tcp" {{\n address = "{HOST}:{self.port}"\n'
            f' cluster_address = "{cluster}"\n tls_disable = 1\n}}\n'
            f'api_addr = "{self.addr}"\ncluster_addr = "http://{cluster}"\n'
        )
        return path

    def start(self) -> None:
        argv = [self.binary, "server", f"-config={self._config()}"]
        env = _child_env(HOME=str(self.base_dir), BAO_LOG_LEVEL="warn")
        self.proc = _spawn(argv, self.base_dir / "bao.log", cwd=self.base_dir, env=env)
        deadline = time.monotonic() + 20
        while not _http_ok(f"{self.addr}/v1/sys/seal-status"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise ServiceStartError(f"bao server did not start: {self.base_dir}/bao.log")
            time.sleep(0.05)
        if not self.token:
            init = bao_request(
                self.addr,
                None,
                "PUT",
                "/v1/sys/init",
                {"secret_shares": 1, "secret_threshold": 1},
                timeout=60,  # waits for the first raft leader election
            )
            self.token, self.unseal_key = init["root_token"], init["keys_base64"][0]
        bao_request(self.addr, None, "PUT", "/v1/sys/unseal", {"key": self.unseal_key})
        # The first start elects a raft leader (~10 s here); a restart takes ~0.3 s.
        deadline = time.monotonic() + 60
        while not openbao_healthy(self.addr):
            if time.monotonic() > deadline:
                raise ServiceStartError(f"bao server not active: {self.base_dir}/bao.log")
            time.sleep(0.1)

    def stop(self) -> None:
        """Kill the server (SIGKILL: a crash, not a shutdown); keep its storage."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)


def start_persistent_openbao() -> PersistentOpenBao:
    server = PersistentOpenBao(
        _find_executable("bao"), _scratch_dir("bao-raft"), free_port(also_next=True)
    )
    try:
        server.start()
        enable_transit(server.addr, server.token)
        bao_request(
            server.addr,
            server.token,
            "POST",
            "/v1/transit/keys/strongroom-root",
            {"type": "aes256-gcm96"},
        )
    except BaseException:
        server.destroy()
        raise
    return server


@pytest.fixture
def openbao_persistent() -> Iterator[PersistentOpenBao]:
    server = start_or_unavailable("OpenBao (raft storage)", start_persistent_openbao)
    _register(server.destroy)
    yield server
    server.destroy()

"""mTLS with real handshakes: ``strongroom serve`` terminating TLS and verifying client
certificates, and behind a TLS-terminating proxy that forwards the certificate."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509

from tests.integration.test_cli import ACCESS_KEY, CLI, START_TIMEOUT, Server, cli_env
from tests.pki import Issued, issue, make_ca, self_signed_client, server_cert

MAPPED = "svc.example.com"
PROXY = "127.0.0.2"  # a second loopback address: the "proxy"; 127.0.0.1 is anyone else
BINDINGS = {f"dns:{MAPPED}": {"tenant": "default", "roles": ["key-admin"]}}


@dataclass
class Pki:
    dir: Path
    ca: Issued
    clients: dict[str, Issued]

    def files(self, name: str) -> tuple[str, str]:
        return str(self.dir / f"{name}.crt"), str(self.dir / f"{name}.key")

    def context(self, client: str | None, **versions: ssl.TLSVersion) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.dir / "ca.crt"))
        for attr, version in versions.items():
            setattr(ctx, attr, version)
        if client is not None:
            ctx.load_cert_chain(*self.files(client))
        return ctx

    def forwarded(self, name: str) -> str:
        return quote(self.clients[name].pem.decode())  # as nginx's $ssl_client_escaped_cert


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca = make_ca()
    ca.write(d, "ca")
    server_cert(ca).write(d, "server")
    long_ago = datetime.now(UTC) - timedelta(days=10)
    mapped: list[x509.GeneralName] = [x509.DNSName(MAPPED)]
    clients = {
        "good": issue(ca, "ingest", sans=mapped),
        "wrong-ca": issue(make_ca("Other CA"), "ingest", sans=mapped),
        "expired": issue(ca, "ingest", sans=mapped, not_before=long_ago, not_after=long_ago),
        "unmapped": issue(ca, "other", sans=[x509.DNSName("other.example.com")]),
        "cn-lookalike": issue(ca, MAPPED),  # the mapped name as CN only, no SAN
        "forged": self_signed_client("Strongroom Test CA", mapped),
    }
    for name, client in clients.items():
        client.write(d, name)
    return Pki(d, ca, clients)


class TlsServer(Server):
    def __init__(self, tmp: Path, pki: Pki, **extra: str) -> None:
        super().__init__(tmp, "tls", **extra)
        self.pki = pki
        self.base = f"https://127.0.0.1:{self.port}"

    def client(self, cert: str | None, **versions: ssl.TLSVersion) -> httpx.Client:
        return httpx.Client(base_url=self.base, verify=self.pki.context(cert, **versions))

    def start(self) -> None:
        """Server.start, but polling health over TLS with the mapped certificate."""
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [CLI, "serve", "--port", str(self.port)],
                cwd=self.tmp,
                env=cli_env(self.tmp, **self.extra),
                stdout=out,
                stderr=err,
            )
        deadline = time.monotonic() + START_TIMEOUT
        with self.client("good") as c:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    pytest.fail(f"serve exited with {self.proc.returncode}: {self.stderr()}")
                try:
                    if c.get("/healthz", timeout=1.0).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        pytest.fail(f"serve not healthy within {START_TIMEOUT}s: {self.stderr()}")


def tls_env(pki: Pki, **extra: str) -> dict[str, str]:
    cert, key = pki.files("server")
    return {
        "STRONGROOM_TLS_CERT_FILE": cert,
        "STRONGROOM_TLS_KEY_FILE": key,
        "STRONGROOM_TLS_CLIENT_CA_FILE": str(pki.dir / "ca.crt"),
        "STRONGROOM_TLS_CLIENT_AUTH": "required",
        "STRONGROOM_MTLS_PRINCIPALS": json.dumps(BINDINGS),
        **extra,
    }


@pytest.fixture(scope="module")
def tls_server(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    server = TlsServer(tmp_path_factory.mktemp("tls"), pki, **tls_env(pki))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_mapped_certificate_alone_authenticates(tls_server: TlsServer) -> None:
    with tls_server.client("good") as c:
        created = c.post("/api/v1/keys", json={"userId": "mtls-user"})
        assert created.status_code == 201, created.text
        got = c.get("/api/v1/keys/mtls-user")
        assert got.status_code == 200 and got.json()["userId"] == "mtls-user"
        # key-admin holds keys:* only: the binding's roles bound what the cert may do.
        assert c.get("/api/v1/access-keys").status_code == 403


def connect(port: int, ctx: ssl.SSLContext) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        return ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    except BaseException:
        raw.close()
        raise


def test_tls13_preferred_and_tls12_accepted(tls_server: TlsServer, pki: Pki) -> None:
    with connect(tls_server.port, pki.context("good")) as tls:
        assert tls.version() == "TLSv1.3"
    tls12 = pki.context("good", maximum_version=ssl.TLSVersion.TLSv1_2)
    with connect(tls_server.port, tls12) as tls:
        assert tls.version() == "TLSv1.2"
        suite = tls.cipher()
        assert suite is not None and suite[0].startswith("ECDHE-")  # forward secret only


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
def test_tls11_is_refused(tls_server: TlsServer, pki: Pki) -> None:
    ctx = pki.context("good", maximum_version=ssl.TLSVersion.TLSv1_1)
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("ALL:@SECLEVEL=0")  # let the client offer 1.1: the server must say no
    # The server alerts or, as asyncio's TLS often does, just drops the connection.
    with pytest.raises(ssl.SSLError, match=r"PROTOCOL_VERSION|UNEXPECTED_EOF"):
        connect(tls_server.port, ctx)


@pytest.mark.parametrize("client", [None, "wrong-ca", "expired"])
def test_refused_at_the_handshake(tls_server: TlsServer, client: str | None) -> None:
    # TLS 1.3: the client may finish its side first; the server's alert then ends the
    # connection before any response, so the request fails in transport either way.
    with tls_server.client(client) as c, pytest.raises(httpx.TransportError):
        c.get("/api/v1/keys/mtls-user")


@pytest.mark.parametrize("client", ["unmapped", "cn-lookalike"])
def test_verified_but_unmapped_certificate_gets_401(tls_server: TlsServer, client: str) -> None:
    with tls_server.client(client) as c:
        r = c.get("/api/v1/keys/mtls-user")
    assert r.status_code == 401 and r.json()["error"]["code"] == "AUTH001"


def test_plain_http_on_the_tls_port_gets_nothing(tls_server: TlsServer) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{tls_server.port}/healthz", timeout=5)


# --- behind a TLS-terminating proxy ---------------------------------------------------


@pytest.fixture(scope="module")
def proxied(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    server = Server(
        tmp_path_factory.mktemp("proxied"),
        "proxied",
        STRONGROOM_TLS_CLIENT_CA_FILE=str(pki.dir / "ca.crt"),
        STRONGROOM_MTLS_PRINCIPALS=json.dumps(BINDINGS),
        STRONGROOM_MTLS_TRUSTED_PROXIES=json.dumps([PROXY]),
        STRONGROOM_AUTH_REQUIRED_FOR=json.dumps({"keys:decrypt": ["mtls"]}),
    )
    server.start()
    try:
        admin = ACCESS_KEY.search(server.stdout())
        assert admin is not None
        yield server, admin.group(0)
    finally:
        server.stop()


def via(server: Server, source: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=server.base, transport=transport, timeout=10)


def cert_header(pki: Pki, name: str) -> dict[str, str]:
    return {"X-SSL-Client-Cert": pki.forwarded(name)}


def test_forwarded_certificate_from_the_proxy_is_verified_and_used(
    proxied: tuple[Server, str], pki: Pki
) -> None:
    server, _ = proxied
    with via(server, PROXY) as proxy:
        r = proxy.post("/api/v1/keys", json={"userId": "fwd"}, headers=cert_header(pki, "good"))
        assert r.status_code == 201, r.text
        assert proxy.get("/api/v1/keys/fwd", headers=cert_header(pki, "good")).status_code == 200
        for bad in ("forged", "wrong-ca", "expired", "unmapped", "cn-lookalike"):
            r = proxy.get("/api/v1/keys/fwd", headers=cert_header(pki, bad))
            assert r.status_code == 401, (bad, r.text)


def test_forwarded_certificate_from_anyone_else_is_ignored(
    proxied: tuple[Server, str], pki: Pki
) -> None:
    server, _ = proxied
    with via(server, "127.0.0.1") as direct:
        r = direct.get("/api/v1/keys/fwd", headers=cert_header(pki, "good"))
        assert r.status_code == 401 and r.json()["error"]["code"] == "AUTH001"
        # X-Forwarded-For naming the proxy does not make the caller the proxy.
        spoof = {**cert_header(pki, "good"), "X-Forwarded-For": PROXY}
        assert direct.get("/api/v1/keys/fwd", headers=spoof).status_code == 401


def test_mtls_required_for_decrypt(proxied: tuple[Server, str], pki: Pki) -> None:
    server, admin = proxied
    key = {"X-API-Key": admin}
    with via(server, PROXY) as proxy:
        assert proxy.post("/api/v1/keys", json={"userId": "dec"}, headers=key).status_code == 201
        enc = proxy.post("/api/v1/encrypt", json={"userId": "dec", "data": ["hi"]}, headers=key)
        assert enc.status_code == 200, enc.text
        body = {"userId": "dec", "data": enc.json()["encryptedData"]}
        alone = proxy.post("/api/v1/decrypt", json=body, headers=key)
        assert alone.status_code == 401 and alone.json()["error"]["code"] == "AUTH001"
        both = proxy.post("/api/v1/decrypt", json=body, headers={**key, **cert_header(pki, "good")})
        assert both.status_code == 200 and both.json()["decryptedData"] == ["hi"], both.text
    with via(server, "127.0.0.1") as direct:  # the same header from a non-proxy counts for nothing
        r = direct.post("/api/v1/decrypt", json=body, headers={**key, **cert_header(pki, "good")})
        assert r.status_code == 401


@pytest.mark.slow
def test_tls_with_two_workers(pki: Pki, tmp_path: Path) -> None:
    server = TlsServer(tmp_path, pki, **tls_env(pki, STRONGROOM_WORKERS="2"))
    server.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        seen = 0
        while seen < 4 and time.monotonic() < deadline:
            with server.client("good") as c:  # new connections, spread over the workers
                assert c.get("/api/v1/keys/none").status_code == 404
                seen += 1
        with server.client("unmapped") as c:
            assert c.get("/api/v1/keys/none").status_code == 401
    finally:
        server.stop()

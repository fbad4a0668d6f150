"""The broker's egress rules (credentials/egress.py): host matching, URL shape, which
addresses are refused, and one resolution per call."""

from __future__ import annotations

import ipaddress

import pytest

from strongroom.credentials.broker_errors import AddressRefused, BadOutbound, DnsFailed
from strongroom.credentials.egress import (
    address_refused,
    canonical_host,
    host_allowed,
    networks,
    parse_url,
    pin,
)


class Stub:
    """A resolver answering from a list per query: the N-th query gets answers[N]."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.queries = 0

    async def resolve(self, host: str, port: int) -> list[str]:
        i = min(self.queries, len(self.answers) - 1)
        self.queries += 1
        if not self.answers[i]:
            raise OSError("no such host")
        return self.answers[i]


@pytest.mark.parametrize(
    ("host", "patterns", "ok"),
    [
        ("api.example.com", ("api.example.com",), True),
        ("API.Example.COM.", ("api.example.com",), True),
        ("api.example.com", ("API.EXAMPLE.COM.",), True),
        ("a.example.com", ("*.example.com",), True),
        ("a.b.example.com", ("*.example.com",), True),
        ("example.com", ("*.example.com",), False),
        ("badexample.com", ("*.example.com",), False),
        ("example.com.evil.net", ("example.com",), False),
        ("api.example.com", (), False),
        ("bücher.example", ("xn--bcher-kva.example",), True),
        ("xn--bcher-kva.example", ("bücher.example",), True),
        ("a.bücher.example", ("*.BÜCHER.example",), True),
        ("127.0.0.1", ("127.0.0.1",), True),
        ("api.example.com", ("*",), False),  # not a pattern we accept
    ],
)
def test_host_matching(host: str, patterns: tuple[str, ...], ok: bool) -> None:
    assert host_allowed(canonical_host(host), patterns) is ok


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("https://user:pw@example.com/", "userinfo"),
        ("https://example.com@evil.net/", "userinfo"),
        ("https:///nohost", "host"),
        ("https://example.com/a b", "path"),
        ("https://example.com/a\r\nX: y", "path"),
        ("https://example.com:99999/", "url"),
        ("https://exa mple.com/", "host"),
    ],
)
def test_malformed_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(BadOutbound) as e:
        parse_url(url)
    assert e.value.detail["reason"] == reason


def test_url_parts() -> None:
    d = parse_url("HTTPS://Bücher.Example.:8443/v1/x?a=1#frag")
    assert (d.scheme, d.host, d.port, d.target) == (
        "https",
        "xn--bcher-kva.example",
        8443,
        "/v1/x?a=1",
    )
    assert d.authority == "xn--bcher-kva.example:8443"
    assert parse_url("http://[::1]/").authority == "[::1]"
    assert parse_url("https://example.com").target == "/"


REFUSED = [
    "127.0.0.1", "127.5.6.7", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "100.127.255.254", "0.0.0.0", "255.255.255.255", "224.0.0.1", "240.0.0.1",
    "::1", "::", "fc00::1", "fd12::1", "fe80::1", "fec0::1", "ff02::1",
    "::ffff:169.254.169.254", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "64:ff9b:1::1",
    "2002:a9fe:a9fe::1", "2002:7f00:1::1", "2002:0a00:0001::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:db8::1", "::127.0.0.1",
]  # fmt: skip
ALLOWED = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808",
           "2002:0808:0808::1"]  # fmt: skip


@pytest.mark.parametrize("address", REFUSED)
def test_internal_addresses_are_refused(address: str) -> None:
    assert address_refused(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass(address: str) -> None:
    assert not address_refused(ipaddress.ip_address(address))


def test_allowed_networks_open_exactly_what_they_name() -> None:
    allowed = networks(("127.0.0.0/8", "10.0.0.0/24", "not a network"))
    assert not address_refused(ipaddress.ip_address("127.0.0.1"), allowed)
    assert not address_refused(ipaddress.ip_address("10.0.0.9"), allowed)
    assert address_refused(ipaddress.ip_address("10.0.1.9"), allowed)
    assert address_refused(ipaddress.ip_address("169.254.169.254"), allowed)
    assert address_refused(ipaddress.ip_address("::1"), allowed)


async def test_pin_resolves_once_and_keeps_the_first_answer() -> None:
    stub = Stub(["127.0.0.1"], ["169.254.169.254"])
    dest = parse_url("http://rebind.test:8080/")
    ip = await pin(stub, dest, networks(("127.0.0.0/8",)))
    assert str(ip) == "127.0.0.1" and stub.queries == 1


@pytest.mark.parametrize(
    "answer", [["127.0.0.1"], ["169.254.169.254"], ["100.64.0.7"], ["::ffff:169.254.169.254"]]
)
async def test_pin_refuses_internal_answers(answer: list[str]) -> None:
    with pytest.raises(AddressRefused):
        await pin(Stub(answer), parse_url("https://api.example.com/"), ())


async def test_pin_skips_refused_answers_and_reports_dns_failure() -> None:
    ip = await pin(Stub(["169.254.169.254", "8.8.8.8"]), parse_url("https://x.example/"), ())
    assert str(ip) == "8.8.8.8"
    with pytest.raises(DnsFailed):
        await pin(Stub([]), parse_url("https://x.example/"), ())
    with pytest.raises(DnsFailed):
        await pin(Stub(["garbage"]), parse_url("https://x.example/"), ())
    with pytest.raises(AddressRefused):  # an IP literal is checked without DNS
        await pin(Stub(["8.8.8.8"]), parse_url("https://169.254.169.254/latest/"), ())

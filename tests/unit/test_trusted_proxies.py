"""``TRUSTED_PROXIES``: uvicorn believes forwarded headers from those peers only."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from strongroom.api.tls_server import proxy_options, uvicorn_options
from strongroom.config import Settings


def test_by_default_no_peer_is_believed_not_even_loopback() -> None:
    options = uvicorn_options(Settings(database_url="sqlite+aiosqlite://"))
    assert options["proxy_headers"] is False and options["forwarded_allow_ips"] == []


def test_listed_proxies_are_normalised_for_uvicorn() -> None:
    settings = Settings(trusted_proxies=["10.1.2.3/8", " 192.0.2.7 ", "fd00::/8"])
    assert proxy_options(settings) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.0/8", "192.0.2.7/32", "fd00::/8"],
    }


@pytest.mark.parametrize("entry", ["*", "proxy.internal", "10.0.0.0/33"])
def test_anything_but_addresses_is_refused(entry: str) -> None:
    with pytest.raises(ValidationError, match="IPs or CIDRs"):
        Settings(trusted_proxies=[entry])

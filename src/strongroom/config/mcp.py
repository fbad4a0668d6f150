"""Settings of the MCP server (mcp/): where it is served and which tokens are its own."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator

from strongroom.config.base import Section

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class McpSettings(Section):
    """The MCP server for AI agents: Streamable HTTP at ``/mcp`` and ``strongroom mcp``
    over stdio (docs/mcp.md). An OAuth resource server only: it accepts the service's
    access keys and OIDC bearer tokens issued for ``resource_url``."""

    enabled: bool = True
    """Mount the Streamable HTTP endpoint at ``/mcp`` in the service."""
    resource_url: str = "http://127.0.0.1:8080/mcp"
    """This server's public URL (RFC 8707 resource, RFC 9728 ``resource``). A bearer
    token is accepted at ``/mcp`` only when its ``aud`` names exactly this URL; the REST
    API's audiences do not count here. https, or plain http on loopback."""
    authorization_servers: list[str] = Field(default_factory=list)
    """Issuers published as ``authorization_servers`` in the protected-resource metadata;
    empty: every configured OIDC issuer."""
    allowed_hosts: list[str] = Field(default_factory=list)
    """``Host`` values the endpoint answers (DNS-rebinding protection), beside the
    resource URL's own host and loopback; ``name:*`` allows any port."""
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest request or upstream body a tool call may carry (bytes, base64 counted
    decoded)."""

    @field_validator("resource_url")
    @classmethod
    def _resource_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("resource_url must be an absolute http(s) URL")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise ValueError("resource_url must be https (plain http only on loopback)")
        if parts.fragment or parts.query:
            raise ValueError("resource_url carries no query or fragment (RFC 8707)")
        return value

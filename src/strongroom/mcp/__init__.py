"""The MCP server for AI agents (an edge, like api/): tools over the approvals and
credentials domains, served over Streamable HTTP at ``/mcp`` (mcp/http.py) and over
stdio (``strongroom mcp``, mcp/stdio.py). Every tool call goes through the access
guard; no tool ever returns a secret value (docs/mcp.md)."""

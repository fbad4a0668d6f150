"""MCP access for AI agents: the tool registry, access requests with a deterministic
risk score, human approval enforced on the server, sessions and ``srp_`` proxy tokens
(issue #18; docs/approvals.md)."""

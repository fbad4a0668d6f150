"""Stored third-party API keys (projects, keys, rotation), the credential broker that
injects them into upstream calls, and their usage analytics and anomaly rules
(issue #17; docs/credentials.md)."""

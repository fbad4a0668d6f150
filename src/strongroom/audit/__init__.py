"""Audit trail: append-only records of every security-relevant action."""

"""Principals, access keys, roles and permissions."""

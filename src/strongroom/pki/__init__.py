"""Certificates: inventory, expiry monitoring, rotation lineage, an optional internal CA."""

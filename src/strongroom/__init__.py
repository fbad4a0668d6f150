"""Strongroom: per-user encryption, key management and secrets service."""

__version__ = "0.1.0"

"""Metrics shared by every layer (Prometheus)."""

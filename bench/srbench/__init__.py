"""Helpers for bench/run.py: processes, peers, wrk driving, in-process baseline, report."""

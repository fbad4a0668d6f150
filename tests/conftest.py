"""Test-suite-wide configuration.

Fixtures for real backing services (``postgres_server``, ``redis_server``,
``openbao_server``) live in ``tests/services.py`` and are loaded here as a
plugin, so every test under tests/ can request them. Add other suite-wide
fixtures below; keep service start-up code in tests/services.py.
"""

pytest_plugins = ["tests.services", "tests.kms_services", "tests.databases"]

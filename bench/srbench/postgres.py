"""A throwaway PostgreSQL cluster for benchmarks, durable like a real deployment.

The test suite's starter (tests/services.py) runs with fsync, synchronous_commit and
full_page_writes off: right for tests, unfair in a benchmark where the audit trail's
commit is part of every request's cost (OpenBao's dev server keeps its data in
memory, so this is already generous to OpenBao). The same starter is reused here
with PostgreSQL's own defaults restored for those settings.
"""

from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import services  # noqa: E402
from tests.services import PostgresServer, ServiceStartError  # noqa: E402

# PostgreSQL's defaults for durability; shared_buffers back to its default too.
DURABLE = {
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "shared_buffers": "128MB",
    # 2 workers x (pool 8 + overflow 8) + the change feed and CLI runs, with room.
    "max_connections": "200",
}

__all__ = ["DURABLE", "PostgresServer", "ServiceStartError", "start"]


def start() -> PostgresServer:
    """initdb in a temp dir and start ``postgres`` from /usr/lib/postgresql/*/bin."""
    with mock.patch.dict(services.PG_SETTINGS, DURABLE):
        return services.start_postgres()

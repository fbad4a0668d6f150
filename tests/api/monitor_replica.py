"""One service process for the replica test of the expiry monitor
(tests/api/test_certificate_monitor_replicas.py): builds the services from the
configuration in ``STRONGROOM_TEST_REPLICA`` (JSON), says ``ready``, waits for a
line on stdin, runs a monitor pass at each injected instant, prints how many alerts it
raised, and exits."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import datetime
from pathlib import Path

import structlog

from strongroom.services.container import build_services
from strongroom.store.tenancy import enter_system_scope
from tests.api.conftest import make_settings


async def main() -> None:
    # Logs to stderr: stdout carries only "ready" and the result.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    config = json.loads(os.environ["STRONGROOM_TEST_REPLICA"])
    settings = make_settings(config["database_url"], Path(config["home"]), **config["overrides"])
    services = build_services(settings)
    enter_system_scope()
    await services.start()
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # "go": all replicas start together
    raised = 0
    for instant in config["instants"]:
        raised += len(await services.certificate_monitor.run_once(datetime.fromisoformat(instant)))
    await services.close()  # drains the webhooks in flight
    print(json.dumps({"raised": raised}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)

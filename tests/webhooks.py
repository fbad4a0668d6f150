"""A webhook receiver on 127.0.0.1 for the security-event tests: records every POST's
headers and body and answers 204."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, TypeVar


class HookReceiver:
    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.posts.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @property
    def bodies(self) -> list[bytes]:
        return [body for _, body in self.posts]


R = TypeVar("R", bound=HookReceiver)


def serving(receiver: R) -> Iterator[R]:
    """For a fixture: serve until the test ends, then close the socket."""
    thread = threading.Thread(target=receiver.server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


# A Standard Webhooks secret for tests (base64 of 24 bytes), never a real one.
TEST_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def security_hook(receiver: HookReceiver) -> dict[str, str]:
    """Settings that send security events to ``receiver``, signed with TEST_SECRET."""
    return {"security_webhook_url": receiver.url, "security_webhook_secret": TEST_SECRET}

"""The approvals page in a real headless Chromium (the harness of test_share_page.py:
uvicorn in a thread, Debian's chromium and chromedriver through Selenium). Approver B
signs in through the form, sees A's pending requests with every factor of their score,
approves one and denies another with reasons; requester A, signed in, is refused its
own request by the service, and the request stays pending."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.browser import test_share_page as harness

pytestmark = pytest.mark.slow
server, browser = harness.server, harness.browser  # the same fixtures
SCHEMA = {"type": "object", "properties": {"url": {"type": "string"}}}


def _api(base: str, key: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    r = httpx.request(method, base + path, json=body, headers={"X-API-Key": key})
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def _world(base: str, admin: str) -> tuple[str, str]:
    """A stored key, a registered (new) tool, requester A and approver B: their keys."""
    _api(base, admin, "POST", "/api/v1/projects", {"name": "payments", "description": "web"})
    key = {"name": "prod", "value": "canary-value-never-shown", "hosts": ["api.example.com"]}
    _api(base, admin, "POST", "/api/v1/projects/payments/api-keys", key)
    tool = _api(
        base,
        admin,
        "POST",
        "/api/v1/mcp/tools",
        {
            "name": "fetcher",
            "clientId": "client-1",
            "inputSchema": SCHEMA,
            "hosts": ["api.example.com"],
            "methods": ["GET", "POST"],
            "tier": "standard",
        },
    )
    _api(base, admin, "POST", f"/api/v1/mcp/tools/{tool['id']}/approve", {})
    a = _api(base, admin, "POST", "/api/v1/access-keys", {"roles": ["mcp-agent", "mcp-approver"]})
    b = _api(base, admin, "POST", "/api/v1/access-keys", {"roles": ["mcp-approver"]})
    return str(a["key"]), str(b["key"])


def _ask(base: str, agent: str, purpose: str) -> dict[str, Any]:
    sha = _api(base, agent, "GET", "/api/v1/mcp/tools")["tools"][0]["schemaSha256"]
    body = {
        "tool": {"name": "fetcher", "clientId": "client-1", "schemaSha256": sha},
        "project": "payments",
        "key": "prod",
        "hosts": ["api.example.com"],
        "methods": ["POST"],
        "durationSeconds": 600,
        "purpose": purpose,
    }
    req = _api(base, agent, "POST", "/api/v1/mcp/requests", body)
    assert req["status"] == "pending", req  # a new tool always waits for a human
    return req


def _status(base: str, admin: str, rid: str) -> str:
    return str(_api(base, admin, "GET", f"/api/v1/mcp/requests/{rid}")["status"])


def _sign_in(driver: Any, base: str, credential: str, path: str = "/approvals") -> None:
    from selenium.webdriver.common.by import By

    driver.get(base + path)
    assert "/approvals/login" in driver.current_url  # signed out: the form first
    driver.find_element(By.ID, "credential").send_keys(credential)
    driver.find_element(By.ID, "signin").click()
    _wait(lambda: driver.current_url == base + path, f"landed on {path}")
    assert credential not in driver.current_url and credential not in driver.page_source


def _wait(ok: Any, what: str, seconds: float = 15) -> None:
    """Poll `ok` until true. A form post replaces the document: an element found on the
    old page goes stale, or is not there yet on the new one; both mean "not yet"."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if ok():
                return
        except (StaleElementReferenceException, NoSuchElementException):
            pass
        time.sleep(0.05)
    raise AssertionError(f"never {what}")


def _decide(driver: Any, action: str, reason: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, f"{action}-reason").send_keys(reason)
    driver.find_element(By.ID, action).click()


def test_approver_decides_in_the_browser_requester_is_refused(server: Any, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    base, admin = server
    a, b = _world(base, admin)
    first, second = _ask(base, a, "read invoices"), _ask(base, a, "refund a <b>charge</b>")
    _sign_in(browser, base, b)
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.request")
    assert {r.get_attribute("id") for r in rows} == {f"r-{first['id']}", f"r-{second['id']}"}
    page = browser.page_source
    for f in first["factors"]:  # the score's breakdown, factor by factor
        assert f["name"] in page and f"{f['points']:+d}" in page
    assert "refund a &lt;b&gt;charge&lt;/b&gt;" in page  # escaped, not markup
    assert a.split("_")[-1] not in page and "canary-value-never-shown" not in page

    browser.find_element(By.LINK_TEXT, first["id"][:8]).click()
    _wait(lambda: browser.current_url == f"{base}/approvals/{first['id']}", "opened the request")
    assert browser.find_element(By.ID, "digest").text == first["digest"]
    _decide(browser, "approve", "expected refund run")
    _wait(lambda: browser.find_element(By.ID, "status").text == "approved", "approved")
    assert _status(base, admin, first["id"]) == "approved"

    browser.get(f"{base}/approvals/{second['id']}")
    _decide(browser, "deny", "not during the freeze")
    _wait(lambda: browser.find_element(By.ID, "status").text == "denied", "denied")
    assert _status(base, admin, second["id"]) == "denied"

    third = _ask(base, a, "my own")
    browser.find_element(By.ID, "logout").click()
    _wait(lambda: "/approvals/login" in browser.current_url, "signed out")
    _sign_in(browser, base, a, f"/approvals/{third['id']}")
    _decide(browser, "approve", "trust me")
    _wait(lambda: "APR007" in browser.find_element(By.ID, "message").text, "refused")
    assert "cannot decide its own request" in browser.find_element(By.ID, "message").text
    assert browser.find_element(By.ID, "status").text == "pending"
    assert _status(base, admin, third["id"]) == "pending"


def test_the_page_refuses_to_be_framed(server: Any, browser: Any) -> None:
    """A page of another origin frames the sign-in form: Chromium shows nothing of it."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    base, _ = server
    frame = f'<iframe id="f" src="{base}/approvals/login"></iframe>'.encode()

    class Evil(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(frame)

        def log_message(self, *_: Any) -> None:
            pass

    evil = HTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://localhost:{evil.server_address[1]}/")
        time.sleep(1)
        browser.switch_to.frame("f")
        # Blocked by X-Frame-Options / frame-ancestors: an error page, not the form.
        assert not browser.find_elements("id", "credential")
    finally:
        browser.switch_to.default_content()
        evil.shutdown()
        evil.server_close()

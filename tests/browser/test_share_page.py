"""The share page in a real headless Chromium: loading it reveals and consumes
nothing; a click reveals; a client-encrypted value is decrypted in the browser with
the key from the link's fragment, which the server never receives.

The app runs under uvicorn in a thread of this process (a browser needs a real
socket); Chromium comes from Debian (`chromium`, `chromium-driver`, installed by
.ci/run), driven by Selenium through /usr/bin/chromedriver (no driver download).
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.api.app import create_app
from strongroom.config import Settings
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import build_services
from strongroom.store.tenancy import enter_system_scope
from tests.databases import clone_sqlite
from tests.services import service_unavailable

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def server(sqlite_template: Path, tmp_path: Path) -> Any:
    """(base URL, admin key) of a server on its own SQLite copy."""
    settings = Settings(
        database_url=clone_sqlite(sqlite_template, tmp_path / "strongroom.db"),
        master_key_file=tmp_path / "strongroom.key",
        scheduler_enabled=False,
    )
    create_master_key_file(settings.kms.master_key_file)
    services = build_services(settings)
    enter_system_scope()
    await services.start()
    _, admin = await services.access.create("default", ["admin"], "browser test")
    await services.close()
    port = _free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    await asyncio.to_thread(_wait_started, srv)
    yield f"http://127.0.0.1:{port}", admin
    srv.should_exit = True
    await asyncio.to_thread(thread.join, 20)


def _wait_started(srv: uvicorn.Server) -> None:
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) and shutil.which(DRIVER)):
        service_unavailable("chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _share(base: str, admin: str, **body: Any) -> tuple[str, str]:
    payload = {"expiresInSeconds": 600, **body}
    r = httpx.post(f"{base}/api/v1/shares", json=payload, headers={"X-API-Key": admin})
    assert r.status_code == 201, r.text
    return r.json()["token"], r.json()["share"]["id"]


def _open(driver: Any, url: str) -> None:
    """A fresh load (going from /s to /s#... would only change the fragment)."""
    driver.get("about:blank")
    driver.get(url)


def _views_left(base: str, admin: str, share_id: str) -> int:
    r = httpx.get(f"{base}/api/v1/shares/{share_id}", headers={"X-API-Key": admin})
    return int(r.json()["viewsLeft"])


def _wait_text(driver: Any, element_id: str, contains: str, seconds: float = 15) -> str:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + seconds
    text = ""
    while time.monotonic() < deadline:
        try:  # the script may replace the element while we read it: "not yet"
            text = driver.find_element(By.ID, element_id).text
        except (StaleElementReferenceException, NoSuchElementException):
            text = ""
        if contains in text:
            return str(text)
        time.sleep(0.05)
    raise AssertionError(f"#{element_id} never showed {contains!r}; it shows {text!r}")


def test_loading_reveals_nothing_click_reveals_once(server: Any, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    base, admin = server
    token, sid = _share(base, admin, value="opened-by-a-click")
    for _ in range(3):  # a previewer, a reload, a second tab: nothing is used up
        _open(browser, f"{base}/s#{token}")
        assert "opened-by-a-click" not in browser.page_source
    assert _views_left(base, admin, sid) == 1
    browser.find_element(By.ID, "reveal").click()
    assert _wait_text(browser, "value", "opened-by-a-click") == "opened-by-a-click"
    assert _views_left(base, admin, sid) == 0
    assert browser.execute_script("return location.hash") == ""  # the token left history
    _open(browser, f"{base}/s#{token}")
    browser.find_element(By.ID, "reveal").click()
    _wait_text(browser, "status", "no longer available")


def test_client_encrypted_value_opens_only_in_the_browser(server: Any, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    base, admin = server
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, b"only the fragment opens this", b"sr-share-v1")
    value = base64.urlsafe_b64encode(sealed).decode().rstrip("=")
    token, _ = _share(base, admin, value=value, clientEncrypted=True)
    fragment = base64.urlsafe_b64encode(key).decode().rstrip("=")
    _open(browser, f"{base}/s#{token}.{fragment}")
    browser.find_element(By.ID, "reveal").click()
    assert _wait_text(browser, "value", "only the fragment") == "only the fragment opens this"


def test_passphrase_asked_in_the_page(server: Any, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    base, admin = server
    token, sid = _share(base, admin, value="behind-a-passphrase", passphrase="open sesame")
    _open(browser, f"{base}/s#{token}")
    browser.find_element(By.ID, "reveal").click()
    _wait_text(browser, "status", "passphrase is needed")
    assert _views_left(base, admin, sid) == 1
    browser.find_element(By.ID, "passphrase").send_keys("open sesame")
    browser.find_element(By.ID, "reveal").click()
    _wait_text(browser, "value", "behind-a-passphrase")

"""Browser tests: Playwright (sync API) driving Debian's Chromium against the live server.

A browser download is not possible here: the tests use /usr/bin/chromium and FAIL (not skip) when it
is missing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import time
from pathlib import Path

import pytest
from support.browser import new_page

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test body
# are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("CARETHREAD_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    page = new_page(browser, live_server.url)
    yield page
    page.context.close()


@pytest.fixture
def totp():
    """RFC 6238 code (SHA-1, 30 s, 6 digits) for a base32 secret, as an authenticator app shows."""

    def code(secret: str) -> str:
        # A code read in the last seconds of its 30-second step may reach the server in the
        # next one (no tolerance there): wait for a fresh step instead.
        left = 30 - time.time() % 30
        if left < 4:
            time.sleep(left + 0.1)
        counter = int(time.time() // 30)
        key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
        mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
        offset = mac[-1] & 0x0F
        value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
        return f"{value % 1_000_000:06d}"

    return code

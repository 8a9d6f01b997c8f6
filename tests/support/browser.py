"""A Chromium page for the browser tests: a new context on the live server, a 15 s timeout, and
``page.csp_errors`` collecting every Content Security Policy report of the console."""

from __future__ import annotations

import os
from typing import Any


def new_page(browser: Any, base_url: str, **options: Any) -> Any:
    context = browser.new_context(base_url=base_url, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.csp_errors = []
    page.on(
        "console",
        lambda msg: (
            page.csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None
        ),
    )
    return page


# The two screens the browser tests look at pages on: a desktop and a phone (options of
# ``new_page``).
# Set CARETHREAD_SCREENSHOT_DIR to a folder to keep the browser tests' screenshots
# (docs/screenshots holds the published ones).
SHOTS = os.environ.get("CARETHREAD_SCREENSHOT_DIR")

SCREENS: dict[str, dict[str, Any]] = {
    "1280": {"viewport": {"width": 1280, "height": 900}},
    "390": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}

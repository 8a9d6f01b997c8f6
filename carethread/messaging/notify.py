"""The messaging app's "still wanted?" checks for ``message.new`` notifications."""

from __future__ import annotations


def register() -> None:
    """Register the checks with ``carethread.notifications.checks``."""
    return None

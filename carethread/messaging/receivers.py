"""Messaging's receivers of the signals of the apps below it (``register`` connects them, from
``MessagingConfig.ready``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carethread.accounts.signals import login_linked
from carethread.messaging.actions import add_inbox_rows

if TYPE_CHECKING:
    from carethread.accounts.models import User
    from carethread.core.models import Patient


def on_login_linked(
    sender: object, *, user: User, patient: Patient, side: str, **kwargs: object
) -> None:
    """Threads that existed before the login (imported history) appear in its inbox."""
    add_inbox_rows(user, patient, side=side)


def register() -> None:
    login_linked.connect(on_login_linked, dispatch_uid="carethread.messaging.login_linked")

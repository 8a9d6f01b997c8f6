"""A test client whose user signed in a moment ago, so allauth's ``reauthentication_required``
lets its requests through (the sensitive pages: exports, granting rights, blocking)."""

from __future__ import annotations

import time

from allauth.account.internal.flows import login as login_flow
from django.test import Client


def freshly_signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[login_flow._AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session[login_flow.AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "reauthenticated": True}
    ]
    session.save()
    return client

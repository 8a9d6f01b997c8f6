"""The invitation a person's session is working through (enrolment and joining a practice keep
the invitation by session once its link's token has left the address bar)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from carethread.accounts.models import Invitation


def session_invitation(
    request: HttpRequest, key: str, invitations: QuerySet[Invitation]
) -> Invitation | None:
    """The invitation among ``invitations`` whose key the session holds under ``key``, while it
    is still usable; None otherwise."""
    pk = request.session.get(key)
    if not isinstance(pk, int):
        return None
    found = invitations.filter(pk=pk).first()
    return found if found is not None and found.is_usable() else None

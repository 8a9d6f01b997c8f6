"""What every template is given, for the navigation: the signed-in person's main role
(``ct_role``) and, for practice users, the addresses of the administration index
(``ct_admin_url``, administrators) and of the audit report (``ct_audit_url``, auditors) — each
only when its page exists.

A practice user's rights cost one query per page (``rights``); nobody else's cost any. Error
pages rendered without a request (the 500 page) get nothing from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from carethread.accounts import roles
from carethread.accounts.models import User
from carethread.core.models import Membership


@dataclass(frozen=True)
class Rights:
    """A practice user's named rights in any of their practices (active memberships of an
    active practitioner)."""

    admin: bool = False
    auditor: bool = False


NO_RIGHTS = Rights()


def rights(user: User) -> Rights:
    rows = list(
        Membership.objects.filter(
            practitioner__user=user, practitioner__active=True, active=True
        ).values_list("is_admin", "is_auditor")
    )
    return Rights(
        admin=any(admin for admin, _ in rows), auditor=any(auditor for _, auditor in rows)
    )


def url_or_empty(name: str) -> str:
    """The address of the page named ``name``, or "" when no such page exists."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def carethread(request: HttpRequest) -> dict[str, str]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"ct_role": "anonymous"}
    role = roles.primary_role(user)
    held = rights(user) if role == "practice" else NO_RIGHTS
    return {
        "ct_role": role,
        "ct_admin_url": url_or_empty("admin_index") if held.admin else "",
        "ct_audit_url": url_or_empty("audit_report") if held.auditor else "",
    }

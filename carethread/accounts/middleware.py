"""Session guards: idle time-out, portal blocking, MFA enrolment for practice users.

Listed in settings.MIDDLEWARE after allauth's AccountMiddleware, in this order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from carethread.accounts import roles
from carethread.accounts.receivers import LOGOUT_AUDITED
from carethread.audit import codes
from carethread.audit.actions import record

LAST_ACTIVITY_KEY = "carethread_last_activity"

GetResponse = Callable[[HttpRequest], HttpResponse]


def now() -> float:
    return time.time()


def is_practice_user(request: HttpRequest) -> bool:
    cached = getattr(request, "_carethread_is_practice", None)
    if cached is None:
        cached = roles.is_practice_user(request.user)
        request._carethread_is_practice = cached  # type: ignore[attr-defined]
    return bool(cached)


def idle_limit_seconds(request: HttpRequest) -> int:
    if is_practice_user(request):
        return int(settings.CARETHREAD_PRACTICE_IDLE_SECONDS)
    return int(settings.CARETHREAD_PATIENT_IDLE_SECONDS)


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _login_url(request: HttpRequest) -> str:
    url = reverse("account_login")
    if request.method == "GET" and not getattr(request, "htmx", False):
        url += "?" + urlencode({"next": request.get_full_path()})
    return url


def end_session(request: HttpRequest, action: str, details: dict[str, Any], message: str) -> None:
    record(action, actor=request.user, request=request, details=details)
    setattr(request, LOGOUT_AUDITED, True)
    logout(request)
    messages.info(request, message)


class IdleTimeoutMiddleware:
    """Signs out a user idle for longer than their limit; signing in again resumes (?next=)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            current = now()
            last = request.session.get(LAST_ACTIVITY_KEY)
            limit = idle_limit_seconds(request)
            if isinstance(last, int | float) and current - last > limit:
                next_url = _login_url(request)
                end_session(
                    request,
                    codes.AUTH_TIMEOUT,
                    {"idle_limit_seconds": limit},
                    "You were signed out after a period of inactivity. Sign in again to continue.",
                )
                return _redirect(request, next_url)
            request.session[LAST_ACTIVITY_KEY] = current
        return self.get_response(request)


class BlockedUserMiddleware:
    """Ends the session of a user whose portal access was blocked."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and getattr(user, "blocked_at", None) is not None:
            end_session(
                request,
                codes.AUTH_LOGOUT,
                {"reason": "blocked"},
                "Your portal access is blocked. Please contact your practice.",
            )
            return _redirect(request, reverse("account_login"))
        return self.get_response(request)


class RequireMFAMiddleware:
    """Practice users set up an authenticator app before they can use anything else."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def _exempt(self, path: str) -> bool:
        prefixes = (
            reverse("mfa_index"),
            reverse("account_logout"),
            reverse("account_reauthenticate"),
            settings.STATIC_URL or "/static/",
            "/healthz",
        )
        return path.startswith(prefixes)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not self._exempt(request.path)
            and is_practice_user(request)
            and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        ):
            messages.info(
                request,
                "Practice users protect their account with an authenticator app. "
                "Set it up to continue.",
            )
            return _redirect(request, reverse("mfa_activate_totp"))
        return self.get_response(request)

"""Session guards: idle time-out, portal blocking, MFA enrolment for practice users.

Listed in settings.MIDDLEWARE after allauth's AccountMiddleware, in this order. Browsers are
sent to the sign-in or MFA set-up page; requests under ``/api/`` get a JSON error in the API's
shape instead (401 when the session was ended, 403 when MFA must be set up first).

Cheap on every request: the last activity is written to the session at most every
``ACTIVITY_WRITE_SECONDS``, and whether the user is a practice user with an authenticator is
kept in the session for ``GUARD_CACHE_SECONDS`` (only the settled answers: not a practice user,
or a practice user with MFA), so a signed-in GET usually costs no query beyond the session's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from carethread.accounts import roles
from carethread.accounts.receivers import LOGOUT_AUDITED
from carethread.audit import codes
from carethread.audit.actions import record

if TYPE_CHECKING:
    from carethread.accounts.models import User

LAST_ACTIVITY_KEY = "carethread_last_activity"
GUARD_CACHE_KEY = "carethread_guard"
GUARD_CACHE_SECONDS = 300
ACTIVITY_WRITE_SECONDS = 30
API_PREFIX = "/api/"

GetResponse = Callable[[HttpRequest], HttpResponse]


def now() -> float:
    return time.time()


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _has_totp(user: User | AnonymousUser) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def guard_state(request: HttpRequest) -> tuple[bool, bool]:
    """(is a practice user, has an authenticator app) for the signed-in user.

    Read once per request; kept in the session for ``GUARD_CACHE_SECONDS`` when settled. A
    practice user still without MFA is looked up on every request, so setting it up takes
    effect at once.
    """
    cached: tuple[bool, bool] | None = getattr(request, "_carethread_guard", None)
    if cached is not None:
        return cached
    user = request.user
    current = now()
    entry = request.session.get(GUARD_CACHE_KEY)
    if (
        isinstance(entry, dict)
        and entry.get("user") == str(user.pk)
        and isinstance(entry.get("until"), int | float)
        and current < entry["until"]
    ):
        state = (bool(entry.get("practice")), bool(entry.get("mfa")))
    else:
        practice = roles.is_practice_user(user)
        state = (practice, practice and _has_totp(user))
        if not practice or state[1]:
            request.session[GUARD_CACHE_KEY] = {
                "user": str(user.pk),
                "practice": state[0],
                "mfa": state[1],
                "until": current + GUARD_CACHE_SECONDS,
            }
    request._carethread_guard = state  # type: ignore[attr-defined]
    return state


def is_practice_user(request: HttpRequest) -> bool:
    return guard_state(request)[0]


def idle_limit_seconds(request: HttpRequest) -> int:
    if is_practice_user(request):
        return int(settings.CARETHREAD_PRACTICE_IDLE_SECONDS)
    return int(settings.CARETHREAD_PATIENT_IDLE_SECONDS)


def api_refusal(status: int, detail: str, code: str) -> HttpResponse:
    """The API's error shape (``carethread.api.errors``) for a request the guards stop."""
    return JsonResponse({"detail": detail, "code": code}, status=status)


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


def end_session(
    request: HttpRequest, action: str, details: dict[str, object], message: str
) -> None:
    record(action, actor=request.user, request=request, details=details)
    setattr(request, LOGOUT_AUDITED, True)
    logout(request)
    if not is_api(request):
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
                next_url = "" if is_api(request) else _login_url(request)
                end_session(
                    request,
                    codes.AUTH_TIMEOUT,
                    {"idle_limit_seconds": limit},
                    "You were signed out after a period of inactivity. Sign in again to continue.",
                )
                if is_api(request):
                    return api_refusal(
                        401, "The session timed out. Sign in again.", "session_timed_out"
                    )
                return _redirect(request, next_url)
            # Written at most every ACTIVITY_WRITE_SECONDS: a session row update per request
            # would make every read a write.
            if not isinstance(last, int | float) or current - last >= ACTIVITY_WRITE_SECONDS:
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
            if is_api(request):
                return api_refusal(
                    401, "Portal access is blocked. Please contact your practice.", "blocked"
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
        if user.is_authenticated and not self._exempt(request.path):
            practice, has_mfa = guard_state(request)
            if practice and not has_mfa:
                return self._refuse(request)
        return self.get_response(request)

    def _refuse(self, request: HttpRequest) -> HttpResponse:
        if is_api(request):
            return api_refusal(
                403,
                "Practice users must set up an authenticator app before using the API.",
                "mfa_required",
            )
        messages.info(
            request,
            "Practice users protect their account with an authenticator app. "
            "Set it up to continue.",
        )
        return _redirect(request, reverse("mfa_activate_totp"))

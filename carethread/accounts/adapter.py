"""allauth adapters: no self sign-up, blocked users refused, audit of throttling and
re-authentication, and mail failures that never break a page."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal import ratelimit
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from carethread.accounts import access, roles
from carethread.accounts.models import User
from carethread.addresses import client_address
from carethread.audit import codes
from carethread.audit.actions import record
from carethread.crypto import mfa as mfa_secrets

log = logging.getLogger(__name__)


ACCOUNT_CEILING = "login_failed_account"  # ACCOUNT_RATE_LIMITS entry: all addresses together


def login_key(credentials: Mapping[str, object]) -> str:
    """The account a sign-in attempt is for, as the throttles key it (the typed email)."""
    login = credentials.get("email", credentials.get("username", ""))
    return str(login or "").strip().lower()


def user_for_login(login: object) -> User | None:
    """The user a typed login (email) belongs to, if any; used for audit actor ids only."""
    if not isinstance(login, str) or not login or len(login) > 254 or "\x00" in login:
        return None
    return User.objects.filter(email__iexact=login.strip()).first()


def first_factor_after_fresh_sign_in(request: HttpRequest | None) -> bool:
    from allauth.account.internal.flows.login import get_authentication_records

    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return False
    if Authenticator.objects.filter(user=user).exists():
        return False
    records = get_authentication_records(request, user)
    if not records or not isinstance(records[-1].get("at"), int | float):
        return False
    return time.time() - records[-1]["at"] < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT


ENROLMENT_SESSION_KEY = "carethread_mfa_enrolment_at"


def mfa_enrolment_in_progress(request: HttpRequest | None) -> bool:
    """The first authenticator is being set up right after signing in, or its recovery codes
    (generated a moment ago) are being shown."""
    if request is None:
        return False
    if first_factor_after_fresh_sign_in(request):
        request.session[ENROLMENT_SESSION_KEY] = time.time()
        return True
    started = request.session.get(ENROLMENT_SESSION_KEY)
    return (
        isinstance(started, int | float)
        and time.time() - started < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT
        and request.method == "GET"
        and request.path
        in (reverse("mfa_view_recovery_codes"), reverse("mfa_download_recovery_codes"))
    )


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Nobody signs up on their own: patients enrol by invitation, staff are created by admins.
        return False

    def get_client_ip(self, request: HttpRequest) -> str:
        address = client_address(request)
        if not address:
            raise PermissionDenied("Unable to determine the client's address")
        return address

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: object) -> str:
        # allauth's per-key limit of failed sign-ins: per account *from one address*, so that a
        # stranger elsewhere cannot lock a known account out. The account as a whole has its
        # own, much higher ceiling (``login_failed_account``).
        return f"{login_key(credentials)}|{ratelimit.get_ip(request)}"

    def _delete_login_attempts_cached_email(
        self, request: HttpRequest, **credentials: object
    ) -> None:
        # After a successful password reset: the reset address's count and the account's.
        super()._delete_login_attempts_cached_email(request, **credentials)
        ratelimit.clear(
            request,
            app="allauth.account",
            action=ACCOUNT_CEILING,
            key=login_key(credentials),
        )

    def pre_authenticate(self, request: HttpRequest, **credentials: object) -> None:
        try:
            # Per address, and per (account, address) ...
            super().pre_authenticate(request, **credentials)
            # ... and the ceiling for the account, all addresses together.
            ceiling = ratelimit.consume(
                request, app="allauth.account", action=ACCOUNT_CEILING, key=login_key(credentials)
            )
            if not ceiling:
                raise self.validation_error("too_many_login_attempts")
            # Rolled back together when the password is right (allauth's ``authenticate``).
            self._login_failed_rl_usage.usage.extend(ceiling.usage)
        except ValidationError:
            record(
                codes.AUTH_LOGIN_FAILED,
                actor=user_for_login(credentials.get("email")),
                request=request,
                outcome="failure",
                details={"reason": "throttled"},
            )
            raise

    def pre_login(self, request: HttpRequest, user: User, **kwargs: object) -> HttpResponse | None:
        if getattr(user, "is_blocked", False):
            from allauth.account.internal.stagekit import clear_login

            clear_login(request)
            record(
                codes.AUTH_LOGIN_FAILED,
                actor=user,
                request=request,
                outcome="failure",
                details={"reason": "blocked"},
            )
            practices = access.practices_to_call(user)
            return render(request, "accounts/blocked.html", {"practices": practices}, status=403)
        return super().pre_login(request, user, **kwargs)

    def reauthenticate(self, user: User, password: str) -> bool:
        ok = super().reauthenticate(user, password)
        if ok:
            record(
                codes.AUTH_REAUTHENTICATED,
                actor=user,
                request=getattr(self, "request", None),
                details={"method": "password"},
            )
        return ok

    def is_reauthentication_required(self, *, app: str, **kwargs: object) -> bool:
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        # Setting up the first authenticator right after signing in (the forced enrolment of
        # practice users) does not ask for the password a second time. Every other MFA change
        # (removing a factor, new recovery codes) still needs a fresh re-authentication.
        return not (app == "allauth.mfa" and mfa_enrolment_in_progress(self.request))

    def send_mail(self, template_prefix: str, email: str, context: dict[str, object]) -> None:
        # A mail server that is down must not turn a password reset into an error page, nor
        # reveal through an error whether the address has an account.
        try:
            super().send_mail(template_prefix, email, context)
        except OSError:  # smtplib.SMTPException is an OSError
            log.warning("Could not send %s mail", template_prefix.rsplit("/", 1)[-1])


KEEP_TOTP = (
    "Practice users cannot switch off two-factor authentication: it protects patients' "
    "messages, and your practice requires it of everyone who can read them. If your phone is "
    "lost or replaced, sign in with one of your recovery codes and ask your practice's "
    "administrator for help."
)


class MFAAdapter(DefaultMFAAdapter):
    error_messages = {**DefaultMFAAdapter.error_messages, "cannot_delete_authenticator": KEEP_TOTP}

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        # The session guards require an authenticator app of every practice user
        # (middleware.RequireMFAMiddleware): allauth's deactivate page refuses, saying why.
        return not (
            authenticator.type == Authenticator.Type.TOTP
            and roles.is_practice_user(authenticator.user)
        )

    # TOTP secrets and recovery-code seeds are stored under the crypto envelope.
    def encrypt(self, text: str) -> str:
        return mfa_secrets.seal(text)

    def decrypt(self, encrypted_text: str) -> str:
        return mfa_secrets.unseal(encrypted_text)

    def get_totp_label(self, user: User) -> str:
        # The authenticator app shows this label; an email address is enough, no name.
        return str(user.email)

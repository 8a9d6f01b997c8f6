"""Audit entries for sign-in, sign-out, failures, MFA and password changes.

Connected in ``AccountsConfig.ready``. Entries carry codes only: never the typed email.
"""

from __future__ import annotations

from collections.abc import Mapping

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver
from django.http import HttpRequest

from carethread.accounts.adapter import user_for_login
from carethread.accounts.models import User
from carethread.audit import codes
from carethread.audit.actions import record

# Set on the request by code that audits a logout itself (time-out, blocking).
LOGOUT_AUDITED = "_carethread_logout_audited"


@receiver(auth_signals.user_logged_in, dispatch_uid="carethread.audit.login")
def on_logged_in(sender: object, request: HttpRequest, user: User, **kwargs: object) -> None:
    record(codes.AUTH_LOGIN, actor=user, request=request)


@receiver(auth_signals.user_logged_out, dispatch_uid="carethread.audit.logout")
def on_logged_out(
    sender: object, request: HttpRequest, user: User | None, **kwargs: object
) -> None:
    if user is None or getattr(request, LOGOUT_AUDITED, False):
        return
    record(codes.AUTH_LOGOUT, actor=user, request=request)


@receiver(auth_signals.user_login_failed, dispatch_uid="carethread.audit.login_failed")
def on_login_failed(
    sender: object,
    credentials: Mapping[str, object],
    request: HttpRequest | None = None,
    **kwargs: object,
) -> None:
    login = credentials.get("email", credentials.get("username"))
    record(
        codes.AUTH_LOGIN_FAILED,
        actor=user_for_login(login),
        request=request,
        outcome="failure",
        details={"reason": "credentials"},
    )


@receiver(mfa_signals.authentication_failed, dispatch_uid="carethread.audit.mfa_failed")
def on_mfa_failed(sender: object, request: HttpRequest, user: User, **kwargs: object) -> None:
    reason = "mfa_reauthentication" if kwargs.get("reauthentication") else "mfa_code"
    record(
        codes.AUTH_LOGIN_FAILED,
        actor=user,
        request=request,
        outcome="failure",
        details={"reason": reason},
    )


@receiver(mfa_signals.authenticator_used, dispatch_uid="carethread.audit.mfa_used")
def on_mfa_used(
    sender: object, request: HttpRequest, user: User, authenticator: Authenticator, **kw: object
) -> None:
    if kw.get("reauthenticated"):
        record(
            codes.AUTH_REAUTHENTICATED,
            actor=user,
            request=request,
            details={"method": str(authenticator.type)},
        )


@receiver(mfa_signals.authenticator_added, dispatch_uid="carethread.audit.mfa_added")
def on_mfa_added(
    sender: object, request: HttpRequest, user: User, authenticator: Authenticator, **kw: object
) -> None:
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        action = codes.MFA_RECOVERY_CODES_GENERATED
    else:
        action = codes.MFA_ENABLED
    record(action, actor=user, request=request, details={"type": str(authenticator.type)})


@receiver(mfa_signals.authenticator_removed, dispatch_uid="carethread.audit.mfa_removed")
def on_mfa_removed(
    sender: object, request: HttpRequest, user: User, authenticator: Authenticator, **kw: object
) -> None:
    record(
        codes.MFA_DISABLED, actor=user, request=request, details={"type": str(authenticator.type)}
    )


@receiver(mfa_signals.authenticator_reset, dispatch_uid="carethread.audit.mfa_reset")
def on_mfa_reset(
    sender: object, request: HttpRequest, user: User, authenticator: Authenticator, **kw: object
) -> None:
    record(
        codes.MFA_RECOVERY_CODES_GENERATED,
        actor=user,
        request=request,
        details={"type": str(authenticator.type), "reset": True},
    )


@receiver(account_signals.password_reset, dispatch_uid="carethread.audit.password_reset")
def on_password_reset(sender: object, request: HttpRequest, user: User, **kwargs: object) -> None:
    record(codes.AUTH_PASSWORD_RESET, actor=user, request=request)


@receiver(account_signals.password_changed, dispatch_uid="carethread.audit.password_changed")
def on_password_changed(sender: object, request: HttpRequest, user: User, **kwargs: object) -> None:
    record(codes.AUTH_PASSWORD_CHANGED, actor=user, request=request)


@receiver(account_signals.password_set, dispatch_uid="carethread.audit.password_set")
def on_password_set(sender: object, request: HttpRequest, user: User, **kwargs: object) -> None:
    record(codes.AUTH_PASSWORD_SET, actor=user, request=request)

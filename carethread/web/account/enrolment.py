"""Enrolment by invitation: the link or the printed code, the date-of-birth check, and the new
login (or the invitation added to the signed-in one)."""

from __future__ import annotations

from typing import Any

from allauth.account.utils import perform_login
from allauth.core import ratelimit
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from carethread.accounts import access, actions
from carethread.accounts.models import Invitation, User
from carethread.web.account.forms import DateOfBirthForm, EnrolCodeForm, EnrolForm
from carethread.web.invitation_session import session_invitation

ENROL_SESSION_KEY = "carethread_enrol_invitation"

# One answer for an address in use and for an address a representative's invitation was not
# sent to: the form tells nobody which addresses exist.
EMAIL_REFUSED = (
    "This email address cannot be used for this invitation. If you already have an account at "
    "this address, sign in first and open your invitation again."
)
ENROL_ERRORS = {
    "birth_date": ("birth_date", "The date of birth does not match our records."),
    "already_enrolled": (None, "This person is already enrolled. Sign in instead."),
    "email_taken": ("email", EMAIL_REFUSED),
    "email_refused": ("email", EMAIL_REFUSED),
}


def _throttled(request: HttpRequest) -> bool:
    """POSTs to the enrolment pages share a per-address limit (ACCOUNT_RATE_LIMITS["enrol"])."""
    return not ratelimit.consume(request, action="enrol")


def _invalid(request: HttpRequest, status: int = 404) -> HttpResponse:
    request.session.pop(ENROL_SESSION_KEY, None)
    return render(request, "accounts/enrol_invalid.html", status=status)


def _start(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    request.session[ENROL_SESSION_KEY] = invitation.pk
    return redirect("enrol_verify")


@require_GET
def enrol_link(request: HttpRequest, token: str) -> HttpResponse:
    invitation = actions.find_invitation(token=token)
    if invitation is None:
        return _invalid(request)
    # The token leaves the address bar at once: the next page knows the invitation by session.
    return _start(request, invitation)


@require_http_methods(["GET", "POST"])
def enrol_code(request: HttpRequest) -> HttpResponse:
    form = EnrolCodeForm(request.POST or None)
    if request.method == "POST":
        if _throttled(request):
            return render(request, "accounts/enrol_code.html", {"form": form}, status=429)
        if form.is_valid():
            invitation = actions.find_invitation(code=form.cleaned_data["code"])
            if invitation is not None:
                return _start(request, invitation)
            form.add_error("code", "This code is not valid or has expired.")
    status = 400 if form.errors else 200
    return render(request, "accounts/enrol_code.html", {"form": form}, status=status)


def _session_invitation(request: HttpRequest) -> Invitation | None:
    invitations = Invitation.objects.select_related("patient__managing_organization")
    return session_invitation(request, ENROL_SESSION_KEY, invitations)


@require_http_methods(["GET", "POST"])
def enrol_verify(request: HttpRequest) -> HttpResponse:
    invitation = _session_invitation(request)
    if invitation is None:
        return _invalid(request)
    account = request.user if isinstance(request.user, User) else None
    signed_in = account is not None
    form_class = DateOfBirthForm if signed_in else EnrolForm
    form = form_class(request.POST or None)
    context: dict[str, Any] = {
        "form": form,
        "signed_in": signed_in,
        "practice": access.practice_of(invitation.patient) if invitation.patient else None,
        "for_representative": invitation.representative_id is not None,
    }
    if request.method == "POST":
        if _throttled(request):
            return render(request, "accounts/enrol_verify.html", context, status=429)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = actions.enrol(
                    invitation,
                    data["birth_date"],
                    data.get("email", ""),
                    data.get("password1"),
                    user=account,
                    request=request,
                )
            except actions.EnrolmentError as error:
                if error.code in {"invalid", "locked"}:
                    return _invalid(request, status=400)
                field, message = ENROL_ERRORS[error.code]
                form.add_error(field if field in form.fields else None, message)
            else:
                request.session.pop(ENROL_SESSION_KEY, None)
                if signed_in:
                    messages.success(request, "The invitation was added to your account.")
                    return redirect("home")
                return perform_login(
                    request, user, email_verification="none", redirect_url=reverse("enrolled")
                )
    status = 400 if form.errors else 200
    return render(request, "accounts/enrol_verify.html", context, status=status)


@login_required
@require_GET
def enrolled(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/enrolled.html")

"""Enrolment by invitation (link or printed code), the practice admin's portal-access page, and
the patient's page of who can see their messages (ending a representative's access)."""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import reauthentication_required
from allauth.account.utils import perform_login
from allauth.core import ratelimit
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carethread.accounts import access, actions, roles
from carethread.accounts.forms import DateOfBirthForm, EnrolCodeForm, EnrolForm, PortalChangeForm
from carethread.accounts.models import Invitation

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
NO_ADDRESS = (
    "No email address is on record for this representative. A representative can only be "
    "invited at their own address: record it in the patient's chart first."
)


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
    pk = request.session.get(ENROL_SESSION_KEY)
    if not isinstance(pk, int):
        return None
    invitation = Invitation.objects.select_related("patient__managing_organization").filter(pk=pk)
    found = invitation.first()
    return found if found is not None and found.is_usable() else None


@require_http_methods(["GET", "POST"])
def enrol_verify(request: HttpRequest) -> HttpResponse:
    invitation = _session_invitation(request)
    if invitation is None:
        return _invalid(request)
    signed_in = request.user.is_authenticated
    form_class = DateOfBirthForm if signed_in else EnrolForm
    form = form_class(request.POST or None)
    context: dict[str, Any] = {
        "form": form,
        "signed_in": signed_in,
        "practice": access.practice_of(invitation.patient),
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
                    user=request.user if signed_in else None,  # type: ignore[arg-type]
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


def _invite(request: HttpRequest, patient: Any, representative: Any | None) -> HttpResponse:
    """A patient's invitation shows its printable code once; a representative's goes only to
    their address on record and shows nothing that could be used to enrol."""
    try:
        invitation, _token, code = actions.create_invitation(
            patient, representative=representative, created_by=request.user, request=request
        )
    except actions.InvitationError:
        messages.error(request, NO_ADDRESS)
        return redirect("portal_access")
    context = {
        "code": code,
        "emailed": representative is not None or bool(patient.email),
        "representative": representative,
        "patient": patient,
        "invitation": invitation,
    }
    return render(request, "accounts/invitation_created.html", context)


@reauthentication_required
def _invite_representative(request: HttpRequest, representative: Any) -> HttpResponse:
    """Inviting a proxy is a step in granting proxy access: it needs a fresh re-authentication
    (the request resumes after it)."""
    return _invite(request, representative.patient, representative)


@login_required
@require_GET
def portal_access(request: HttpRequest) -> HttpResponse:
    access.require_practice_admin(request.user)
    context = {
        "patients": access.patients_for_admin(request.user),
        "reasons": actions.BLOCK_REASONS,
    }
    return render(request, "accounts/portal_access.html", context)


@login_required
@require_POST
def portal_access_change(request: HttpRequest) -> HttpResponse:
    access.require_practice_admin(request.user)
    form = PortalChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That change could not be made: the form was incomplete.")
        return redirect("portal_access")
    data = form.cleaned_data
    if data["kind"] == "patient":
        patient = access.patient_for_admin(request.user, data["target"])
        representative = None
        target_user = patient.user
    else:
        representative = access.representative_for_admin(request.user, data["target"])
        patient = representative.patient
        target_user = representative.user
    if data["op"] == "invite" and representative is not None:
        return _invite_representative(request, representative)
    if data["op"] == "invite":
        return _invite(request, patient, None)
    if target_user is None:
        raise Http404
    if roles.practitioner_of(target_user) is not None:
        messages.error(request, "This login belongs to a practice user and cannot be blocked here.")
        return redirect("portal_access")
    if data["op"] == "block":
        actions.block_portal_access(
            target_user,
            actor=request.user,
            reason_code=data["reason"],
            patient=patient,
            request=request,
        )
        messages.success(request, "Portal access blocked.")
    else:
        actions.unblock_portal_access(
            target_user, actor=request.user, patient=patient, request=request
        )
        messages.success(request, "Portal access restored.")
    return redirect("portal_access")


# -- the patient's representatives ---------------------------------------------------------------


@login_required
@require_GET
def representatives(request: HttpRequest) -> HttpResponse:
    """Who can see the signed-in patient's messages, each with a way to end their access."""
    if roles.patient_of(request.user) is None:
        raise Http404
    context = {"representatives": access.own_representatives(request.user)}
    return render(request, "accounts/representatives.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def representative_revoke(request: HttpRequest, representative_uuid: Any) -> HttpResponse:
    """GET asks for confirmation; POST ends the representative's access now."""
    rep = access.own_representative(request.user, representative_uuid)
    if request.method == "POST":
        actions.revoke_representative(rep, actor=request.user, request=request)
        messages.success(request, f"{rep.display_name} can no longer see your messages.")
        return redirect("representatives")
    return render(request, "accounts/representative_revoke.html", {"representative": rep})

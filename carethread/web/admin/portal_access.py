"""``/practice/portal-access``: a practice administrator blocks (after a confirmation page) and
restores a patient's or a representative's portal access, and invites them (a patient's
invitation shows its printable code once; a representative's goes to their address on record)."""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from carethread.accounts import access, actions, roles
from carethread.accounts.models import Invitation, User
from carethread.core.models import Patient, Representative
from carethread.web.admin.forms import PortalChangeForm
from carethread.web.decorators import AuthedRequest

NO_ADDRESS = (
    "No email address is on record for this representative. A representative can only be "
    "invited at their own address: record it in the patient's chart first."
)


def invite_page(
    request: AuthedRequest, patient: Patient, representative: Representative | None
) -> HttpResponse:
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
def _invite_representative(request: AuthedRequest, representative: Representative) -> HttpResponse:
    """Inviting a proxy is a step in granting proxy access: it needs a fresh re-authentication
    (the request resumes after it)."""
    return invite_page(request, representative.patient, representative)


def _with_open_invitations(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """Each patient's and representative's open invitations (``open_invitations``,
    ``open_rep_invitations``, newest first): the page reads "invited <date>" for someone not
    enrolled yet."""
    usable = Invitation.objects.filter(
        used_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).order_by("-created_at")
    return patients.prefetch_related(
        Prefetch(
            "invitations",
            queryset=usable.filter(representative=None),
            to_attr="open_invitations",
        ),
        Prefetch("representatives__invitations", queryset=usable, to_attr="open_rep_invitations"),
    )


def _confirm_block(
    request: AuthedRequest,
    data: dict[str, Any],
    patient: Patient,
    representative: Representative | None,
) -> HttpResponse:
    """The confirmation page of a block: who loses access, why, and what blocking does. Its
    button sends the same change with ``confirm``; nothing is written before that."""
    context = {
        "kind": data["kind"],
        "target": data["target"],
        "reason": data["reason"],
        "reason_label": actions.BLOCK_REASONS[data["reason"]],
        "patient": patient,
        "representative": representative,
    }
    return render(request, "accounts/portal_block_confirm.html", context)


@reauthentication_required
def _block(
    request: AuthedRequest,
    data: dict[str, Any],
    whom: tuple[User, Patient, Representative | None],
) -> HttpResponse:
    """Blocking needs a fresh re-authentication (the request resumes after it): first the
    confirmation page, then, with ``confirm``, the block itself."""
    target_user, patient, representative = whom
    if not data["confirm"]:
        return _confirm_block(request, data, patient, representative)
    actions.block_portal_access(
        target_user,
        actor=request.user,
        reason_code=data["reason"],
        patient=patient,
        request=request,
    )
    messages.success(request, "Portal access blocked.")
    return redirect("portal_access")


@login_required
@require_GET
def portal_access(request: AuthedRequest) -> HttpResponse:
    access.require_practice_admin(request.user)
    context = {
        "patients": _with_open_invitations(access.patients_for_admin(request.user)),
        "reasons": actions.BLOCK_REASONS,
    }
    return render(request, "accounts/portal_access.html", context)


@login_required
@require_POST
def portal_access_change(request: AuthedRequest) -> HttpResponse:
    access.require_practice_admin(request.user)
    form = PortalChangeForm(request.POST)
    if not form.is_valid():
        if "reason" in form.errors:
            messages.error(request, "Choose a reason before blocking portal access.")
        else:
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
        return invite_page(request, patient, None)
    if target_user is None:
        raise Http404
    if roles.practitioner_of(target_user) is not None:
        messages.error(request, "This login belongs to a practice user and cannot be blocked here.")
        return redirect("portal_access")
    if data["op"] == "block":
        return _block(request, data, (target_user, patient, representative))
    actions.unblock_portal_access(target_user, actor=request.user, patient=patient, request=request)
    messages.success(request, "Portal access restored.")
    return redirect("portal_access")

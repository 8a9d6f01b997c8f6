"""``/practice/<org>/invitations``: every invitation of a practice (its practice users', its
patients' and their representatives') with its state — sent, expired, used, revoked — and
resend and revoke, for its administrators (everyone else: the house's 404 page).

``/practice/join/<token>``: a practice user's emailed link. The token leaves the address bar
at once (the next page knows the invitation by session); ``/practice/join`` sets the password,
signs the new login in, and the MFA guard sends them to set up their authenticator app before
anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from uuid import UUID

from allauth.account.decorators import reauthentication_required
from allauth.account.internal.flows.login import record_authentication
from allauth.account.utils import perform_login
from allauth.core import ratelimit
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carethread.accounts import access, actions
from carethread.accounts import practice_users as people
from carethread.accounts.models import Invitation
from carethread.core.models import Organization
from carethread.web.admin import portal_access
from carethread.web.admin.people_forms import JoinForm
from carethread.web.decorators import AuthedRequest, View, signed_in_never_cached
from carethread.web.invitation_session import session_invitation

JOIN_SESSION_KEY = "carethread_join_invitation"
# The invitations a joining practice user's session can hold: a practice user's.
JOINABLE = Invitation.objects.select_related("practitioner", "organization").filter(
    practitioner__isnull=False
)


@require_GET
@signed_in_never_cached
def invitation_list(request: AuthedRequest, org_uuid: UUID) -> HttpResponse:
    org = access.access_admin_organization(request.user, org_uuid)
    rows = list(access.invitations_for_admin(request.user, org)[:500])
    context = {"org": org, "invitations": [(inv, inv.state()) for inv in rows]}
    return render(request, "admin/people/invitations.html", context)


def _back(org: Organization) -> HttpResponse:
    return redirect("admin_invitations", org_uuid=org.uuid)


def _resend(request: AuthedRequest, org: Organization, invitation: Invitation) -> HttpResponse:
    """A new invitation in place of this one (which is revoked): a practice user's and a
    representative's are emailed; a patient's shows its printable code once."""
    if invitation.practitioner is not None:
        try:
            people.invite(invitation.practitioner, org, actor=request.user, request=request)
        except people.PracticeUserError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "A new invitation was sent.")
        return _back(org)
    assert invitation.patient is not None
    return portal_access.invite_page(request, invitation.patient, invitation.representative)


@reauthentication_required
def _resend_to_representative(
    request: AuthedRequest, org: Organization, invitation: Invitation
) -> HttpResponse:
    """Inviting a proxy is a step in granting proxy access: a fresh re-authentication first."""
    return _resend(request, org, invitation)


def _invitation_post(
    change: Callable[[AuthedRequest, Organization, Invitation], HttpResponse],
) -> View:
    """A POST about one invitation of a practice the caller administers: the gates first (the
    same 404 for everyone else), then ``change`` with the practice and the invitation."""

    @require_POST
    @signed_in_never_cached
    @wraps(change)
    def view(request: AuthedRequest, org_uuid: UUID, invitation_uuid: UUID) -> HttpResponse:
        org = access.access_admin_organization(request.user, org_uuid)
        return change(request, org, access.invitation_for_admin(request.user, org, invitation_uuid))

    return view


def _resend_unless_used(
    request: AuthedRequest, org: Organization, invitation: Invitation
) -> HttpResponse:
    if invitation.state() == "used":
        messages.error(request, "This invitation was used: there is nothing to resend.")
        return _back(org)
    if invitation.representative_id is not None:
        return _resend_to_representative(request, org, invitation)
    return _resend(request, org, invitation)


def _revoke(request: AuthedRequest, org: Organization, invitation: Invitation) -> HttpResponse:
    if people.revoke_invitation(invitation, actor=request.user, request=request):
        messages.success(request, "The invitation was revoked: its link no longer works.")
    else:
        messages.error(request, "This invitation was used or revoked already.")
    return _back(org)


invitation_resend = _invitation_post(_resend_unless_used)
invitation_revoke = _invitation_post(_revoke)


def _invalid(request: HttpRequest, status: int = 404) -> HttpResponse:
    request.session.pop(JOIN_SESSION_KEY, None)
    return render(request, "accounts/enrol_invalid.html", status=status)


@require_GET
def join_link(request: HttpRequest, token: str) -> HttpResponse:
    invitation = people.find_invitation(token)
    if invitation is None:
        return _invalid(request)
    request.session[JOIN_SESSION_KEY] = invitation.pk
    return redirect("practice_join")


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest) -> HttpResponse:
    invitation = session_invitation(request, JOIN_SESSION_KEY, JOINABLE)
    if invitation is None:
        return _invalid(request)
    form = JoinForm(request.POST or None)
    context = {"form": form, "invitation": invitation, "org": invitation.organization}
    if request.method == "POST":
        if not ratelimit.consume(request, action="enrol"):
            return render(request, "admin/people/join.html", context, status=429)
        if form.is_valid():
            try:
                user = people.accept(invitation, form.cleaned_data["password1"], request=request)
            except actions.EnrolmentError:
                return _invalid(request, status=400)
            request.session.pop(JOIN_SESSION_KEY, None)
            response = perform_login(
                request, user, email_verification="none", redirect_url=reverse("messaging_inbox")
            )
            # The password was typed a moment ago: setting up the authenticator app next (the
            # MFA guard's first stop) does not ask for it again.
            record_authentication(request, user, method="password", email=user.email)
            return response
    status = 400 if form.errors else 200
    return render(request, "admin/people/join.html", context, status=status)

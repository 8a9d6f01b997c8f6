"""``/practice/<org>/people``: a practice's clinicians and staff, for its administrators
(everyone else: the house's 404 page). Adding someone (by NPI and email, or an imported
practitioner) invites them; their rights (administrator, auditor, emergency access) and
deactivating or reactivating them need a fresh re-authentication (the request resumes after
it). A person's page lists the threads assigned to them, to reassign."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from uuid import UUID

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carethread.accounts import access
from carethread.accounts import practice_users as people
from carethread.accounts.models import Invitation
from carethread.core.models import Membership, Organization, Practitioner
from carethread.messaging.models import Thread
from carethread.web.admin.people_forms import ActiveForm, AddPersonForm, InviteForm, RightsForm
from carethread.web.decorators import AuthedRequest, View, signed_in_never_cached

# The add form's fields that name the person added (besides the practitioner picked).
PERSON_FIELDS = ("role", "email", "npi", "given_name", "family_name")


def _members(request: AuthedRequest, org: Organization) -> list[Membership]:
    open_invitations = Invitation.objects.filter(
        practitioner=OuterRef("practitioner"), used_at=None, revoked_at=None
    )
    rows = access.members_for_admin(request.user, org).annotate(invited=Exists(open_invitations))
    return list(rows.order_by("practitioner__family_name", "practitioner__given_name", "pk"))


@require_GET
@signed_in_never_cached
def people_list(request: AuthedRequest, org_uuid: UUID) -> HttpResponse:
    org = access.access_admin_organization(request.user, org_uuid)
    context = {"org": org, "members": _members(request, org)}
    return render(request, "admin/people/list.html", context)


def _candidates(org: Organization) -> QuerySet[Practitioner]:
    """Imported practitioners without a login and without an open invitation: members of
    this practice, or of no practice (another practice's people are not listed)."""
    invited = Invitation.objects.filter(practitioner=OuterRef("pk"), used_at=None, revoked_at=None)
    elsewhere = Membership.objects.filter(practitioner=OuterRef("pk")).exclude(organization=org)
    rows = Practitioner.objects.filter(user=None, active=True)
    rows = rows.exclude(Exists(invited)).exclude(Exists(elsewhere))
    return rows.order_by("family_name", "given_name", "pk")[:500]


@require_http_methods(["GET", "POST"])
@signed_in_never_cached
def person_add(request: AuthedRequest, org_uuid: UUID) -> HttpResponse:
    org = access.access_admin_organization(request.user, org_uuid)
    form = AddPersonForm(request.POST or None, candidates=_candidates(org))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        typed = {field: data[field] for field in PERSON_FIELDS}
        person = people.NewPerson(**typed, practitioner=data["picked"])
        try:
            membership, invitation = people.add_practice_user(
                org, person, actor=request.user, request=request
            )
        except people.PracticeUserError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            if invitation is not None:
                messages.success(request, "Added. The invitation was sent.")
            else:
                messages.success(request, "Added. They already have a login and can work here.")
            return redirect("admin_person", org_uuid=org.uuid, membership_uuid=membership.uuid)
    status = 400 if form.errors else 200
    return render(request, "admin/people/add.html", {"org": org, "form": form}, status=status)


def _assigned(membership: Membership) -> list[Thread]:
    rows = Thread.objects.filter(
        organization=membership.organization, assignee=membership.practitioner
    ).exclude(status=Thread.Status.CLOSED)
    return list(rows.order_by("-last_message_at")[:200])


@require_GET
@signed_in_never_cached
def person(request: AuthedRequest, org_uuid: UUID, membership_uuid: UUID) -> HttpResponse:
    org = access.access_admin_organization(request.user, org_uuid)
    membership = access.member_for_admin(request.user, org, membership_uuid)
    invitation = (
        Invitation.objects.filter(practitioner=membership.practitioner)
        .order_by("-created_at", "-pk")
        .first()
    )
    context = {
        "org": org,
        "membership": membership,
        "practitioner": membership.practitioner,
        "invitation": invitation,
        "rights": RightsForm(
            initial={
                "admin": membership.is_admin,
                "auditor": membership.is_auditor,
                "emergency_access": membership.emergency_access,
            }
        ),
        "invite": InviteForm(initial={"email": membership.practitioner.email}),
        "assigned": _assigned(membership),
    }
    return render(request, "admin/people/person.html", context)


def _back(membership: Membership) -> HttpResponse:
    return redirect(
        "admin_person",
        org_uuid=membership.organization.uuid,
        membership_uuid=membership.uuid,
    )


def _refused(request: AuthedRequest, membership: Membership, message: str) -> HttpResponse:
    """Back to the member's page with why nothing changed."""
    messages.error(request, message)
    return _back(membership)


@reauthentication_required
def _change_rights(request: AuthedRequest, membership: Membership) -> HttpResponse:
    form = RightsForm(request.POST)
    if not form.is_valid():
        return _refused(
            request, membership, "The rights could not be changed: the form was incomplete."
        )
    changed = 0
    try:
        for right in people.RIGHTS:
            granted = bool(form.cleaned_data[right])
            changed += people.set_right(
                membership, right, granted, actor=request.user, request=request
            )
    except people.PracticeUserError as error:
        return _refused(request, membership, error.message)
    messages.success(request, "Rights changed." if changed else "Nothing changed.")
    return _back(membership)


@reauthentication_required
def _change_active(request: AuthedRequest, membership: Membership) -> HttpResponse:
    form = ActiveForm(request.POST)
    if not form.is_valid():
        return _refused(request, membership, "Nothing changed: the form was incomplete.")
    active = form.cleaned_data["active"] == "1"
    try:
        people.set_active(membership, active, actor=request.user, request=request)
    except people.PracticeUserError as error:
        return _refused(request, membership, error.message)
    messages.success(request, "Reactivated." if active else "Deactivated. Their sessions end now.")
    return _back(membership)


def _member_post(change: Callable[[AuthedRequest, Membership], HttpResponse]) -> View:
    """A POST about one member of a practice the caller administers: the gates first (the
    same 404 for everyone else), then ``change`` (which may ask for a fresh
    re-authentication)."""

    @require_POST
    @signed_in_never_cached
    @wraps(change)
    def view(request: AuthedRequest, org_uuid: UUID, membership_uuid: UUID) -> HttpResponse:
        org = access.access_admin_organization(request.user, org_uuid)
        return change(request, access.member_for_admin(request.user, org, membership_uuid))

    return view


person_rights = _member_post(_change_rights)
person_active = _member_post(_change_active)


def _invite(request: AuthedRequest, membership: Membership) -> HttpResponse:
    """Send (or send again) the invitation of a member without a login, at the address typed."""
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _refused(request, membership, "Enter a valid email address.")
    person = people.NewPerson(
        role=membership.role,
        email=form.cleaned_data["email"],
        practitioner=membership.practitioner,
    )
    try:
        people.add_practice_user(
            membership.organization, person, actor=request.user, request=request
        )
    except people.PracticeUserError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The invitation was sent.")
    return _back(membership)


person_invite = _member_post(_invite)

"""Who may see which thread: the one gate every lookup goes through.

``access_thread(user, uuid)`` returns the thread and the caller's ``Viewer``, or raises the same
``Http404`` for "does not exist" and "not allowed"; ``access_practice_thread`` is the same gate
for the practice's own controls (the caller must be on the thread's practice side), and
``on_practice_side(viewer, thread)`` the question it asks, for actions handed a loaded thread.
``practice_patients(viewer)`` is the patients a practice user may open (the pages' lookups by
UUID or MRN and the drafts' patient go through it).

The rule is one filter, ``thread_rights_q(viewer)``: the gate looks a thread up through it, and
every list, box, search filter and unread count applies it too (``visible_threads`` for a
queryset of threads, the ``prefix`` argument from the caller's inbox rows), so nothing is listed
that the gate would not open. An inbox row (``ThreadMember``) records taking part; it grants
nothing by itself.

The rule (docs/messaging.md, "Who may read what"):

* a patient sees the threads about them that include the patient side;
* a representative sees those of the patients who authorised them, while the authorisation is
  valid, unless the patient kept the thread private from representatives;
* a practice user sees threads of an organisation where they hold an active membership, when
  they are a member of the thread's pool, its assignee, or take part in it (a ``ThreadMember``
  row with the practice side). Being an administrator grants nothing here;
* emergency access: a practice user whose active membership holds the emergency-access right
  also sees, read-only, every thread of a patient at that organisation while an emergency access
  they started for that patient there is running (``EmergencyAccess``: started, not ended, not
  past its end). It gives no practice side (``Viewer.side_for`` stays None: no reply, no
  triage, no read receipts); ``Viewer.emergency_for`` names the grant that opened a thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeAlias
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Case, Exists, OuterRef, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from carethread.accounts import roles
from carethread.core.models import (
    CareTeamPool,
    Membership,
    Patient,
    Practitioner,
    Representative,
)
from carethread.messaging.models import (
    Attachment,
    EmergencyAccess,
    Side,
    Thread,
    ThreadMember,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from carethread.accounts.models import User

# Whoever a lookup is for: a signed-in user, or no one (an anonymous visitor, no login at all),
# whom every gate answers like a stranger.
Caller: TypeAlias = "User | AnonymousUser | None"

# Set on a loaded thread: (viewer, whether they hold practice rights on it) and the viewer the
# gate opened it for; read back only for that same ``Viewer`` (one request's facts).
_PRACTICE_MEMO = "_carethread_practice_side"
_OPENED_MEMO = "_carethread_opened_for"


@dataclass
class Viewer:
    """What a signed-in user may act as. Read once per request: the memberships at once, the
    representations and pools on first use (a practice user's thread lookup needs neither)."""

    user: User | None
    patient: Patient | None = None
    practitioner: Practitioner | None = None
    # Organisation id -> role ("clinician" / "staff") of the active memberships.
    memberships: dict[int, str] = field(default_factory=dict)
    # Organisations whose active membership holds the emergency-access right.
    emergency_orgs: frozenset[int] = frozenset()

    @cached_property
    def emergency_grants(self) -> dict[tuple[int, int], EmergencyAccess]:
        """(organisation id, patient id) -> the viewer's emergency access running now there
        (no query for a viewer without the right)."""
        if self.user is None or not self.emergency_orgs:
            return {}
        rows = (
            EmergencyAccess.objects.filter(
                running_q(timezone.now()), user=self.user, organization_id__in=self.emergency_orgs
            )
            .select_related("patient", "organization")
            .order_by("started_at")
        )
        return {(row.organization_id, row.patient_id): row for row in rows}

    def emergency_for(self, thread: Thread) -> EmergencyAccess | None:
        """The running emergency access that opens ``thread`` for this viewer, when nothing
        else does (no side on it); None otherwise."""
        grant = self.emergency_grants.get((thread.organization_id, thread.patient_id))
        if grant is None or self.side_for(thread) is not None:
            return None
        return grant

    @cached_property
    def representing(self) -> dict[int, Representative]:
        """Patient id -> the representative row that is valid now."""
        if self.user is None:
            return {}
        rows = Representative.objects.filter(
            Representative.valid_at_q(timezone.now()), user=self.user
        ).select_related("patient")
        return {rep.patient_id: rep for rep in rows}

    @cached_property
    def pool_ids(self) -> frozenset[int]:
        if self.practitioner is None or not self.memberships:
            return frozenset()
        return frozenset(
            self.practitioner.pools.filter(
                active=True, organization_id__in=list(self.memberships)
            ).values_list("pk", flat=True)
        )

    @property
    def is_practice(self) -> bool:
        return self.practitioner is not None and bool(self.memberships)

    def is_clinician_in(self, organization_id: int) -> bool:
        return self.memberships.get(organization_id) == Membership.Role.CLINICIAN

    def side_for(self, thread: Thread) -> str | None:
        """The side this viewer takes in ``thread`` (practice first), or None. The practice
        side needs practice rights on the thread (``practice_rights_q``), not only a membership
        of its organisation: a practice user who is also a patient or a representative reads
        other threads of their practice on the patient side, or not at all."""
        if self.has_practice_rights(thread):
            return Side.PRACTICE
        if not thread.includes_patient:
            return None
        if self.patient is not None and thread.patient_id == self.patient.pk:
            return Side.PATIENT
        if thread.patient_id in self.representing and not thread.private_from_representatives:
            return Side.REPRESENTATIVE
        return None

    def has_practice_rights(self, thread: Thread) -> bool:
        if self.practitioner is None or thread.organization_id not in self.memberships:
            return False
        memo = thread.__dict__.get(_PRACTICE_MEMO)
        if memo is not None and memo[0] is self:
            return bool(memo[1])
        if thread.assignee_id == self.practitioner.pk:
            return True
        value = Thread.objects.filter(practice_rights_q(self), pk=thread.pk).exists()
        remember_practice_side(self, thread, value)
        return value


def viewer_for(user: Caller) -> Viewer:
    if user is None or not user.is_authenticated:
        return Viewer(user=None)
    if not user.is_active or user.blocked_at is not None:
        return Viewer(user=None)
    viewer = Viewer(user=user, patient=roles.patient_of(user))
    practitioner = roles.practitioner_of(user)
    if practitioner is not None and practitioner.active:
        rows = list(
            Membership.objects.filter(practitioner=practitioner, active=True).values_list(
                "organization_id", "role", "emergency_access"
            )
        )
        viewer.memberships = {org: role for org, role, _right in rows}
        viewer.emergency_orgs = frozenset(org for org, _role, right in rows if right)
        if viewer.memberships:
            viewer.practitioner = practitioner
    return viewer


def practice_rights_q(viewer: Viewer, prefix: str = "", *, own_rows: bool = False) -> Q:
    """The practice half of the rule: the thread's organisation is one where the viewer holds
    an active membership, and they are in its (active) pool, its assignee or take part in it on
    the practice side. ``prefix`` is the path to the thread (``"thread__"`` from an inbox row);
    ``own_rows`` says the rows filtered are the viewer's own ``ThreadMember`` rows, whose side
    then is the participation (one row per thread and login), read without a subquery.
    """
    if viewer.user is None or viewer.practitioner is None or not viewer.memberships:
        return Q(pk__in=[])
    p = prefix
    organizations = list(viewer.memberships)
    pools = CareTeamPool.objects.filter(
        members=viewer.practitioner, active=True, organization_id__in=organizations
    ).values("pk")
    if own_rows:
        taking_part = Q(side=Side.PRACTICE)
    else:
        taking_part = Q(
            Exists(
                ThreadMember.objects.filter(
                    thread=OuterRef(f"{p}pk"), user=viewer.user, side=Side.PRACTICE
                )
            )
        )
    return Q(**{f"{p}organization_id__in": organizations}) & (
        Q(**{f"{p}pool_id__in": pools})
        | Q(**{f"{p}assignee_id": viewer.practitioner.pk})
        | taking_part
    )


def patient_side_rights_q(viewer: Viewer, prefix: str = "") -> Q:
    """The patient half: threads about the viewer that include the patient side, and those of
    patients who authorise the viewer now, unless kept private from representatives."""
    if viewer.user is None:
        return Q(pk__in=[])
    p = prefix
    represented = Representative.objects.filter(
        Representative.valid_at_q(timezone.now()), user=viewer.user
    ).values("patient_id")
    mine = Q(pk__in=[])
    if viewer.patient is not None:
        mine = Q(**{f"{p}patient_id": viewer.patient.pk})
    return Q(**{f"{p}includes_patient": True}) & (
        mine | Q(**{f"{p}private_from_representatives": False, f"{p}patient_id__in": represented})
    )


def running_q(now: dt.datetime) -> Q:
    """Emergency accesses running at ``now``: started, not ended early, not past their end."""
    return Q(started_at__lte=now, ends_at__gt=now, ended_at__isnull=True)


def emergency_rights_q(viewer: Viewer, prefix: str = "") -> Q:
    """The emergency half: the threads of each patient at each organisation for which the
    viewer runs an emergency access now (``Viewer.emergency_grants``)."""
    p = prefix
    rule = Q(pk__in=[])
    for organization_id, patient_id in viewer.emergency_grants:
        rule |= Q(**{f"{p}organization_id": organization_id, f"{p}patient_id": patient_id})
    return rule


def thread_rights_q(viewer: Viewer, prefix: str = "", *, own_rows: bool = False) -> Q:
    """THE rule: which threads the viewer may open. The gate, every list, every filter and
    every unread count apply this one filter (``prefix`` and ``own_rows`` as in
    ``practice_rights_q``)."""
    if viewer.user is None:
        return Q(pk__in=[])
    rule = practice_rights_q(viewer, prefix, own_rows=own_rows) | patient_side_rights_q(
        viewer, prefix
    )
    if viewer.emergency_grants:
        rule |= emergency_rights_q(viewer, prefix)
    return rule


def with_practice_side(
    viewer: Viewer, rows: QuerySet[Any], prefix: str = "", *, own_rows: bool = False
) -> QuerySet[Any]:
    """``rows`` annotated with whether the viewer holds practice rights on each (row's) thread,
    read back by ``remember_practice_side`` so ``Viewer.side_for`` costs no query per row."""
    if viewer.practitioner is None:
        return rows
    return rows.annotate(
        viewer_practice_side=Case(
            When(practice_rights_q(viewer, prefix, own_rows=own_rows), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def remember_practice_side(viewer: Viewer, thread: Thread, value: bool | None) -> None:
    if value is not None:
        thread.__dict__[_PRACTICE_MEMO] = (viewer, bool(value))


def visible_threads(viewer: Viewer) -> QuerySet[Thread]:
    """Every thread the viewer may open (a queryset; callers add ordering and limits)."""
    if viewer.user is None:
        return Thread.objects.none()
    return Thread.objects.filter(thread_rights_q(viewer))


def may_see(viewer: Viewer, thread: Thread) -> bool:
    """Whether the viewer may open ``thread`` now (``thread_rights_q`` for one loaded thread:
    one query, none for a thread the gate has just opened for this viewer)."""
    if viewer.user is None:
        return False
    if thread.__dict__.get(_OPENED_MEMO) is viewer:
        return True
    return visible_threads(viewer).filter(pk=thread.pk).exists()


def access_thread(
    user: Caller, thread_uuid: UUID | str, *, viewer: Viewer | None = None
) -> tuple[Thread, Viewer]:
    """The thread ``thread_uuid`` if ``user`` may see it, else ``Http404`` (same for missing)."""
    viewer = viewer or viewer_for(user)
    if viewer.user is None:
        raise Http404
    threads = Thread.objects.select_related("organization", "patient__user", "pool", "assignee")
    threads = with_practice_side(viewer, threads.filter(thread_rights_q(viewer)))
    try:
        thread = threads.get(uuid=thread_uuid)
    except (Thread.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc
    remember_practice_side(viewer, thread, getattr(thread, "viewer_practice_side", None))
    thread.__dict__[_OPENED_MEMO] = viewer
    return thread, viewer


def on_practice_side(viewer: Viewer, thread: Thread) -> bool:
    """Whether the viewer acts for the practice in ``thread``: they may open it and hold practice
    rights on it (a thread the gate has just opened for this viewer costs no query)."""
    return (
        viewer.practitioner is not None
        and viewer.side_for(thread) == Side.PRACTICE
        and may_see(viewer, thread)
    )


def access_practice_thread(
    user: Caller, thread_uuid: UUID | str, *, viewer: Viewer | None = None
) -> tuple[Thread, Viewer]:
    """``access_thread`` for the practice's own controls (triage, notes, templates): the thread
    when the caller is on its practice side, else the same ``Http404`` as for a missing one."""
    thread, viewer = access_thread(user, thread_uuid, viewer=viewer)
    if not on_practice_side(viewer, thread):
        raise Http404
    return thread, viewer


def practice_patients(viewer: Viewer) -> QuerySet[Patient]:
    """The patients a practice user may open and write to or about: those of the viewer's
    organisations (managed there or seen there); none for anyone else."""
    if not viewer.is_practice:
        return Patient.objects.none()
    return organization_patients(list(viewer.memberships))


def organization_patients(organization_ids: list[int]) -> QuerySet[Patient]:
    """The patients of these organisations: managed there or seen there."""
    seen = Patient.objects.filter(encounters__organization_id__in=organization_ids).values("pk")
    return Patient.objects.filter(Q(managing_organization_id__in=organization_ids) | Q(pk__in=seen))


def access_attachment(
    user: Caller, attachment_uuid: UUID | str, *, viewer: Viewer | None = None
) -> tuple[Attachment, Viewer]:
    """An attachment of a visible, non-retracted message, or the caller's own upload."""
    viewer = viewer or viewer_for(user)
    try:
        attachment = Attachment.objects.select_related("message__thread").get(uuid=attachment_uuid)
    except (Attachment.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc
    if viewer.user is None:
        raise Http404
    if attachment.message is None:
        if attachment.uploaded_by_id != viewer.user.pk:
            raise Http404
        return attachment, viewer
    message = attachment.message
    if not may_see(viewer, message.thread):
        raise Http404
    if message.is_retracted and viewer.side_for(message.thread) != Side.PRACTICE:
        raise Http404
    return attachment, viewer

"""Who may see which thread: the one gate every lookup goes through.

``access_thread(user, uuid)`` returns the thread and the caller's ``Viewer``, or raises the same
``Http404`` for "does not exist" and "not allowed". ``visible_threads(viewer)`` is the queryset
form of the same rule, for lists.

The rule (security.md, "Authorisation"):

* a patient sees the threads about them that include the patient side;
* a representative sees those of the patients who authorised them, while the authorisation is
  valid, unless the patient kept the thread private from representatives;
* a practice user sees threads of an organisation where they hold an active membership, when
  they are a member of the thread's pool, its assignee, or take part in it (a ``ThreadMember``
  row with the practice side). Being an administrator grants nothing here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from carethread.accounts import roles
from carethread.core.models import Membership, Patient, Practitioner, Representative
from carethread.messaging.models import Attachment, Side, Thread, ThreadMember


@dataclass
class Viewer:
    """What a signed-in user may act as. Read once per request: the memberships at once, the
    representations and pools on first use (a practice user's thread lookup needs neither)."""

    user: Any
    patient: Patient | None = None
    practitioner: Practitioner | None = None
    # Organisation id -> role ("clinician" / "staff") of the active memberships.
    memberships: dict[int, str] = field(default_factory=dict)

    @cached_property
    def representing(self) -> dict[int, Representative]:
        """Patient id -> the representative row that is valid now."""
        if self.user is None:
            return {}
        now = timezone.now()
        return {
            rep.patient_id: rep
            for rep in Representative.objects.filter(user=self.user).select_related("patient")
            if rep.is_valid_at(now)
        }

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
        """The side this viewer takes in ``thread`` (practice first), or None."""
        if self.practitioner is not None and thread.organization_id in self.memberships:
            return Side.PRACTICE
        if not thread.includes_patient:
            return None
        if self.patient is not None and thread.patient_id == self.patient.pk:
            return Side.PATIENT
        if thread.patient_id in self.representing and not thread.private_from_representatives:
            return Side.REPRESENTATIVE
        return None


def viewer_for(user: Any) -> Viewer:
    if user is None or not getattr(user, "is_authenticated", False):
        return Viewer(user=None)
    if not user.is_active or getattr(user, "blocked_at", None) is not None:
        return Viewer(user=None)
    viewer = Viewer(user=user, patient=roles.patient_of(user))
    practitioner = roles.practitioner_of(user)
    if practitioner is not None and practitioner.active:
        viewer.memberships = dict(
            Membership.objects.filter(practitioner=practitioner, active=True).values_list(
                "organization_id", "role"
            )
        )
        if viewer.memberships:
            viewer.practitioner = practitioner
    return viewer


def _practice_q(viewer: Viewer) -> Q:
    if viewer.practitioner is None or not viewer.memberships:
        return Q(pk__in=[])
    return Q(organization_id__in=list(viewer.memberships)) & (
        Q(pool_id__in=list(viewer.pool_ids))
        | Q(assignee_id=viewer.practitioner.pk)
        | Q(members__user=viewer.user, members__side=Side.PRACTICE)
    )


def _patient_side_q(viewer: Viewer) -> Q:
    q = Q(pk__in=[])
    if viewer.patient is not None:
        q |= Q(patient_id=viewer.patient.pk)
    if viewer.representing:
        q |= Q(patient_id__in=list(viewer.representing), private_from_representatives=False)
    return Q(includes_patient=True) & q


def visible_threads(viewer: Viewer) -> QuerySet[Thread]:
    """Every thread the viewer may open (a queryset; callers add ordering and limits)."""
    if viewer.user is None:
        return Thread.objects.none()
    ids = Thread.objects.filter(_practice_q(viewer) | _patient_side_q(viewer)).values("pk")
    return Thread.objects.filter(pk__in=ids)


def may_see(viewer: Viewer, thread: Thread) -> bool:
    """``visible_threads`` for one loaded thread, in Python (one query at most)."""
    if viewer.user is None:
        return False
    if viewer.practitioner is not None and thread.organization_id in viewer.memberships:
        if thread.assignee_id == viewer.practitioner.pk:
            return True
        if thread.pool_id is not None and thread.pool_id in viewer.pool_ids:
            return True
        taking_part = getattr(thread, "viewer_takes_part", None)  # set by ``access_thread``
        if taking_part is None:
            taking_part = thread.members.filter(user=viewer.user, side=Side.PRACTICE).exists()
        if taking_part:
            return True
    return viewer.side_for(thread) in (Side.PATIENT, Side.REPRESENTATIVE)


def access_thread(
    user: Any, thread_uuid: UUID | str, *, viewer: Viewer | None = None
) -> tuple[Thread, Viewer]:
    """The thread ``thread_uuid`` if ``user`` may see it, else ``Http404`` (same for missing)."""
    viewer = viewer or viewer_for(user)
    threads = Thread.objects.select_related("organization", "patient__user", "pool", "assignee")
    if viewer.practitioner is not None:
        # Whether a practice user takes part, in the same query (read by ``may_see``).
        threads = threads.annotate(
            viewer_takes_part=Exists(
                ThreadMember.objects.filter(
                    thread=OuterRef("pk"), user=viewer.user, side=Side.PRACTICE
                )
            )
        )
    try:
        thread = threads.get(uuid=thread_uuid)
    except (Thread.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc
    if not may_see(viewer, thread):
        raise Http404
    return thread, viewer


def access_attachment(
    user: Any, attachment_uuid: UUID | str, *, viewer: Viewer | None = None
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

"""Emergency access ("break the glass", 170.315(d)(6)): who may start one, the patient it is
for, and the two writes (start, end early), each with its audit entry.

What a running emergency access opens is decided by the one gate (``access.thread_rights_q``
and ``Viewer.emergency_for``); what it did is read back by ``emergency_report``. The free text
given with the reason is encrypted (``EmergencyAccess.explanation_ct``) and read only by the
report: the audit entries carry the reason's code, never the text.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from carethread.audit import actions as audit
from carethread.audit import codes
from carethread.core.models import Organization, Patient
from carethread.messaging.access import Viewer, organization_patients, running_q
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import EmergencyAccess

if TYPE_CHECKING:
    from carethread.accounts.models import User

MAX_EXPLANATION = 2000
REASONS = EmergencyAccess.Reason


def emergency_organizations(viewer: Viewer) -> QuerySet[Organization]:
    """The organisations where the viewer may start an emergency access: an active membership
    holding the right (none for anyone else)."""
    if not viewer.is_practice or not viewer.emergency_orgs:
        return Organization.objects.none()
    return Organization.objects.filter(pk__in=viewer.emergency_orgs).order_by("name", "pk")


def find_patient(
    viewer: Viewer,
    organization: Organization,
    *,
    mrn: str = "",
    family_name: str = "",
    birth_date: dt.date | None = None,
) -> Patient | None:
    """The one patient of ``organization`` with this MRN, or with this family name and date of
    birth; None when there is none, or more than one (an unknown patient and another practice's
    look the same)."""
    if organization.pk not in viewer.emergency_orgs:
        return None
    patients = organization_patients([organization.pk])
    if mrn.strip():
        patients = patients.filter(mrn=mrn.strip())
    elif family_name.strip() and birth_date is not None:
        patients = patients.filter(family_name__iexact=family_name.strip(), birth_date=birth_date)
    else:
        return None
    found = list(patients.order_by("pk")[:2])
    return found[0] if len(found) == 1 else None


def running(viewer: Viewer) -> list[EmergencyAccess]:
    """The viewer's emergency accesses running now, oldest first (the banner and the page)."""
    return sorted(viewer.emergency_grants.values(), key=lambda row: row.started_at)


def start_emergency_access(
    viewer: Viewer,
    *,
    organization: Organization,
    patient: Patient,
    reason: str,
    explanation: str = "",
    request: HttpRequest | None = None,
) -> EmergencyAccess:
    """Start an emergency access to ``patient``'s threads at ``organization`` for the
    organisation's ``emergency_access_minutes``. Raises ``MessagingError`` for a missing reason,
    "other" without an explanation or one already running; ``Http404`` when the viewer holds no
    right there or the patient is not the organisation's."""
    user = viewer.user
    if user is None or organization.pk not in viewer.emergency_orgs:
        raise Http404
    if not organization_patients([organization.pk]).filter(pk=patient.pk).exists():
        raise Http404
    if reason not in REASONS.values:
        raise MessagingError("bad_reason")
    explanation = explanation.strip()
    if reason == REASONS.OTHER and not explanation:
        raise MessagingError("explanation_required")
    if len(explanation) > MAX_EXPLANATION:
        raise MessagingError("too_long")
    now = timezone.now()
    minutes = max(1, organization.emergency_access_minutes)
    with transaction.atomic():
        mine = EmergencyAccess.objects.select_for_update().filter(
            running_q(now), user=user, organization=organization, patient=patient
        )
        if mine.exists():
            raise MessagingError("emergency_running")
        row = EmergencyAccess(
            user=user,
            organization=organization,
            patient=patient,
            reason=reason,
            started_at=now,
            ends_at=now + dt.timedelta(minutes=minutes),
        )
        if explanation:
            row.seal("explanation_ct", explanation)
        row.save()
        audit.record(
            codes.EMERGENCY_START,
            actor=user,
            request=request,
            patient=patient,
            obj=row,
            details={"reason": reason, "minutes": minutes, "organization": str(organization.uuid)},
        )
    viewer.__dict__.pop("emergency_grants", None)
    return row


def end_emergency_access(
    viewer: Viewer, access_uuid: UUID | str, *, request: HttpRequest | None = None
) -> EmergencyAccess:
    """End one of the viewer's running emergency accesses now (``Http404`` for any other)."""
    user: User | None = viewer.user
    try:
        UUID(str(access_uuid))
    except ValueError as exc:
        raise Http404 from exc
    now = timezone.now()
    with transaction.atomic():
        try:
            row = EmergencyAccess.objects.select_for_update().get(
                Q(uuid=access_uuid) & running_q(now), user=user
            )
        except (EmergencyAccess.DoesNotExist, ValidationError) as exc:
            raise Http404 from exc
        row.ended_at = now
        row.save(update_fields=["ended_at"])
        audit.record(
            codes.EMERGENCY_END,
            actor=user,
            request=request,
            patient=row.patient_id,
            obj=row,
            details={"minutes": int((now - row.started_at).total_seconds() // 60)},
        )
    viewer.__dict__.pop("emergency_grants", None)
    return row

"""Bulk outreach: one new thread per patient, in two explicit steps.

1. ``preview`` checks the list (at most ``CARETHREAD_OUTREACH_LIMIT`` patients), sorts out who
   can be messaged and who cannot (not a patient of the practice, no portal access yet, portal
   blocked), stores the reachable patients and the subject/body as written (placeholders
   unrendered, encrypted) and renders a sample for the first reachable patient.
2. ``confirm`` (once: a second confirm is refused with ``outreach_state``) starts exactly one
   thread per stored patient, each as ``actions.start_thread`` would for a practice user writing
   to the patient, with subject and body rendered for that patient. All or nothing: when one
   thread cannot be started nothing is sent and the outreach stays in preview.

Outreach is not held to the per-hour sending rate (it has its own hard limit and a
confirmation step).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils import timezone

from carethread.audit import actions as audit
from carethread.audit import codes
from carethread.core.models import Organization, Patient, Practitioner
from carethread.messaging import actions, posting, rules, templates
from carethread.messaging.access import Viewer, viewer_for
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Message, Outreach

if TYPE_CHECKING:
    from carethread.accounts.models import User

# Why a patient cannot be messaged.
NOT_PATIENT = "not_patient"
NOT_ENROLLED = "not_enrolled"
BLOCKED = "blocked"


@dataclass
class OutreachSummary:
    """What a preview found: reachable patients, the others with a reason, one sample."""

    reachable: list[UUID] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (patient uuid, reason)
    sample_subject: str = ""
    sample_body: str = ""

    @property
    def counts(self) -> dict[str, int]:
        counts = {NOT_PATIENT: 0, NOT_ENROLLED: 0, BLOCKED: 0}
        for _uuid, reason in self.skipped:
            counts[reason] += 1
        return counts


def _practice_viewer(user: User, organization: Organization) -> Viewer:
    viewer = viewer_for(user)
    if viewer.practitioner is None or organization.pk not in viewer.memberships:
        raise MessagingError("not_allowed")
    return viewer


def _patient_keys(patients: Sequence[Patient | UUID | str]) -> list[str]:
    """The list as patient UUID strings, in order, without repeats; ``bad_request`` on junk."""
    keys: dict[str, None] = {}
    for item in patients:
        try:
            key = str(item.uuid if isinstance(item, Patient) else UUID(str(item)))
        except (ValueError, TypeError, AttributeError):
            raise MessagingError("bad_request") from None
        keys.setdefault(key, None)
    return list(keys)


def reason_not_reachable(
    patient: Patient, organization: Organization, now: dt.datetime
) -> str | None:
    """Why ``patient`` cannot get a message from ``organization`` now (``None``: they can)."""
    if not patient.active or not rules.is_patient_of(patient, organization):
        return NOT_PATIENT
    logins = [patient.user] if patient.user is not None else []
    logins += [rep.user for rep in rules.valid_representatives(patient, now) if rep.user]
    if any(u.is_active and u.blocked_at is None for u in logins):
        return None
    user = patient.user
    if user is not None and (not user.is_active or user.blocked_at is not None):
        return BLOCKED
    return NOT_ENROLLED


def preview(
    user: User,
    *,
    organization: Organization,
    patients: Sequence[Patient | UUID | str],
    category: str,
    subject: str,
    body: str,
    on_behalf_of: Practitioner | None = None,
    request: HttpRequest | None = None,
) -> Outreach:
    """Store an outreach in preview. The returned row carries ``summary`` (``OutreachSummary``:
    who can and cannot be messaged, and the sample rendered for the first reachable patient)."""
    viewer = _practice_viewer(user, organization)
    posting.check_on_behalf(viewer, organization, on_behalf_of)
    category = posting.clean_category(category)
    subject = posting.clean_text(subject, limit=posting.MAX_SUBJECT)
    body = posting.clean_text(body, limit=posting.MAX_BODY)
    templates.check(subject, body)
    keys = _patient_keys(patients)
    if not keys:
        raise MessagingError("no_recipient")
    if len(keys) > settings.CARETHREAD_OUTREACH_LIMIT:
        raise MessagingError("outreach_too_large")
    now = timezone.now()
    found = {
        str(p.uuid): p
        for p in Patient.objects.filter(uuid__in=keys).select_related(
            "user", "managing_organization"
        )
    }
    summary = OutreachSummary()
    for key in keys:
        patient = found.get(key)
        reason = (
            NOT_PATIENT if patient is None else reason_not_reachable(patient, organization, now)
        )
        if reason is None:
            summary.reachable.append(UUID(key))
        else:
            summary.skipped.append((key, reason))
    clinician = on_behalf_of or viewer.practitioner
    if summary.reachable:
        sample = templates.render_text(
            subject,
            body,
            templates.values_for(
                patient=found[str(summary.reachable[0])],
                organization=organization,
                clinician=clinician,
            ),
        )
        summary.sample_subject, summary.sample_body = sample.subject, sample.body
    with transaction.atomic():
        outreach = Outreach(
            organization=organization,
            author=user,
            on_behalf_of=on_behalf_of,
            category=category,
            patients=[str(u) for u in summary.reachable],
            created_at=now,
        )
        outreach.seal("subject_ct", subject)
        outreach.seal("body_ct", body)
        outreach.save(force_insert=True)
        audit.record(
            codes.OUTREACH_PREVIEW,
            actor=user,
            request=request,
            obj=outreach,
            details={
                "organization": str(organization.uuid),
                "category": category,
                "reachable": len(summary.reachable),
                "skipped": summary.counts,
            },
        )
    outreach.summary = summary  # type: ignore[attr-defined]
    return outreach


def outreach_for(user: User, outreach_uuid: UUID | str) -> Outreach:
    """The caller's own outreach ``outreach_uuid``, else ``Http404`` (same for missing)."""
    try:
        return Outreach.objects.select_related("organization", "on_behalf_of").get(
            uuid=outreach_uuid, author_id=getattr(user, "pk", None)
        )
    except (Outreach.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def confirm(user: User, outreach: Outreach, *, request: HttpRequest | None = None) -> list[Message]:
    """Send the outreach: one new thread per stored patient. Only its author confirms, once."""
    if outreach.author_id != getattr(user, "pk", None):
        raise MessagingError("not_allowed")
    organization = outreach.organization
    viewer = _practice_viewer(user, organization)
    on_behalf_of = outreach.on_behalf_of
    subject = outreach.unseal("subject_ct") or ""
    body = outreach.unseal("body_ct") or ""
    clinician = on_behalf_of or viewer.practitioner
    now = timezone.now()
    with transaction.atomic():
        claimed = Outreach.objects.filter(pk=outreach.pk, state=Outreach.State.PREVIEW).update(
            state=Outreach.State.SENT, confirmed_at=now
        )
        if not claimed:
            raise MessagingError("outreach_state")
        patients = {
            str(p.uuid): p
            for p in Patient.objects.filter(uuid__in=outreach.patients).select_related(
                "user", "managing_organization"
            )
        }
        if len(patients) != len(outreach.patients):
            raise MessagingError("patient_not_allowed")
        messages = []
        for key in outreach.patients:
            patient = patients[key]
            values = templates.values_for(
                patient=patient, organization=organization, clinician=clinician
            )
            text = templates.render_text(subject, body, values)
            # Outreach has its own limit and confirmation step instead of the sending rate.
            messages.append(
                actions.start_thread(
                    user,
                    patient=patient,
                    category=outreach.category,
                    subject=text.subject,
                    body=text.body,
                    organization=organization,
                    on_behalf_of=on_behalf_of,
                    request=request,
                    viewer=viewer,
                    rate_limit=False,
                )
            )
        audit.record(
            codes.OUTREACH_CONFIRM,
            actor=user,
            request=request,
            obj=outreach,
            details={"messages": len(messages)},
        )
    outreach.refresh_from_db(fields=["state", "confirmed_at"])
    return messages


def cancel(user: User, outreach: Outreach, *, request: HttpRequest | None = None) -> Outreach:
    """Drop an outreach in preview (its author only); ``outreach_state`` once sent/cancelled."""
    if outreach.author_id != getattr(user, "pk", None):
        raise MessagingError("not_allowed")
    with transaction.atomic():
        changed = Outreach.objects.filter(pk=outreach.pk, state=Outreach.State.PREVIEW).update(
            state=Outreach.State.CANCELLED
        )
        if not changed:
            raise MessagingError("outreach_state")
        audit.record(codes.OUTREACH_CANCEL, actor=user, request=request, obj=outreach)
    outreach.refresh_from_db(fields=["state"])
    return outreach

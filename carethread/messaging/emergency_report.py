"""The emergency-access report: every use of emergency access with its reason and free text,
who, which patient, when and how long, and what was opened (the ``emergency.thread_view``
entries of the audit trail that name it).

Read by the report page (an organisation's administrators and auditors) and by
``carethread audit report --emergency`` (this module hands its CSV writer down to
``core.audit_report``, which holds the command). The free text is decrypted here and nowhere
else.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from carethread.accounts import roles
from carethread.audit import actions as audit
from carethread.audit import codes
from carethread.audit.models import AuditEvent
from carethread.core.audit_report import EXTRA_REPORTS, ReportFilters, csv_cell, write_table
from carethread.core.models import Organization
from carethread.messaging.models import Category, EmergencyAccess, Thread

if TYPE_CHECKING:
    from carethread.accounts.models import User

# The most uses one page or one export reads at a time (an export walks them all, in chunks).
PAGE = 200
HEADER = (
    "access",
    "started_at",
    "ended_at",
    "ended_early",
    "minutes",
    "organization",
    "user",
    "user_email",
    "patient",
    "patient_mrn",
    "reason",
    "explanation",
    "threads_opened",
    "thread_views",
    "threads",
)


@dataclass(frozen=True)
class Opened:
    """One thread opened under an emergency access: its UUID, category, views, first view."""

    thread_uuid: str
    category: str
    views: int
    first_at: dt.datetime


@dataclass
class EmergencyUse:
    access: EmergencyAccess
    explanation: str
    opened: list[Opened] = field(default_factory=list)

    @property
    def ended_early(self) -> bool:
        return self.access.ended_at is not None

    @property
    def running(self) -> bool:
        return self.access.ended_at is None and self.access.ends_at > timezone.now()

    @property
    def minutes(self) -> int:
        """How long it lasted (so far, while running), in whole minutes."""
        until = min(self.access.closed_at, timezone.now())
        return max(0, int((until - self.access.started_at).total_seconds() // 60))

    @property
    def views(self) -> int:
        return sum(o.views for o in self.opened)


@dataclass(frozen=True)
class EmergencyFilters:
    """Which uses: started between ``start`` and ``end`` (calendar days in the practice's time
    zone, inclusive), by one user, about one patient, at some organisations (None: all)."""

    start: dt.date | None = None
    end: dt.date | None = None
    user_id: int | None = None
    patient_id: int | None = None
    organization_ids: tuple[int, ...] | None = None


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(
        dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone()
    )


def accesses(filters: EmergencyFilters) -> QuerySet[EmergencyAccess]:
    """The uses the filters name, newest first, with their user, patient and organisation."""
    rows = EmergencyAccess.objects.select_related(
        "user__practitioner", "patient", "organization"
    ).order_by("-started_at", "-pk")
    if filters.organization_ids is not None:
        rows = rows.filter(organization_id__in=filters.organization_ids)
    if filters.start is not None:
        rows = rows.filter(started_at__gte=_day_start(filters.start))
    if filters.end is not None:
        rows = rows.filter(started_at__lt=_day_start(filters.end + dt.timedelta(days=1)))
    if filters.user_id is not None:
        rows = rows.filter(user_id=filters.user_id)
    if filters.patient_id is not None:
        rows = rows.filter(patient_id=filters.patient_id)
    return rows


def uses(rows: Iterable[EmergencyAccess]) -> list[EmergencyUse]:
    """The uses with their free text and what each opened (two queries for any number)."""
    found = [EmergencyUse(row, row.unseal("explanation_ct") or "") for row in rows]
    by_uuid = {str(use.access.uuid): use for use in found}
    if not by_uuid:
        return found
    views = AuditEvent.objects.filter(
        action=codes.EMERGENCY_THREAD_VIEW, details__emergency_access__in=list(by_uuid)
    ).values_list("details", "object_id", "occurred_at")
    counted: dict[str, dict[str, list[dt.datetime]]] = defaultdict(lambda: defaultdict(list))
    for details, thread_uuid, at in views:
        counted[str(details.get("emergency_access"))][thread_uuid].append(at)
    threads = {*(t for per in counted.values() for t in per)}
    categories = dict(Thread.objects.filter(uuid__in=list(threads)).values_list("uuid", "category"))
    names = dict(Category.choices)
    labels = {str(k): str(names.get(v, v)) for k, v in categories.items()}
    for access_uuid, per_thread in counted.items():
        use = by_uuid.get(access_uuid)
        if use is None:
            continue
        use.opened = sorted(
            (
                Opened(thread, labels.get(thread, ""), len(times), min(times))
                for thread, times in per_thread.items()
            ),
            key=lambda o: o.first_at,
        )
    return found


def user_label(row: EmergencyAccess) -> str:
    practitioner = getattr(row.user, "practitioner", None)
    return practitioner.display_name if practitioner is not None else row.user.email


def csv_rows(filters: EmergencyFilters) -> Iterator[list[str]]:
    """The report's CSV rows (without the header), in pages of ``PAGE`` uses."""
    rows = accesses(filters)
    offset = 0
    while True:
        page = list(rows[offset : offset + PAGE])
        for use in uses(page):
            a = use.access
            yield [
                str(a.uuid),
                a.started_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
                a.closed_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
                "yes" if use.ended_early else "no",
                str(use.minutes),
                csv_cell(a.organization.name),
                csv_cell(user_label(a)),
                csv_cell(a.user.email),
                csv_cell(a.patient.display_name),
                csv_cell(a.patient.mrn),
                a.get_reason_display(),
                csv_cell(use.explanation),
                str(len(use.opened)),
                str(use.views),
                " ".join(o.thread_uuid for o in use.opened),
            ]
        if len(page) < PAGE:
            return
        offset += PAGE


def write_csv(filters: EmergencyFilters, out: Any) -> int:
    """Write the header and every use as CSV; returns the number of uses."""
    return write_table(HEADER, csv_rows(filters), out)


def write_for_command(filters: ReportFilters, out: Any) -> int:
    """``carethread audit report --emergency``: the report for the command's period, user and
    patient (``core.audit_report.EXTRA_REPORTS``)."""
    wanted = EmergencyFilters(
        start=filters.start,
        end=filters.end,
        user_id=filters.actor_id,
        patient_id=filters.patient_id,
    )
    return write_csv(wanted, out)


def register() -> None:
    EXTRA_REPORTS["emergency"] = write_for_command


def report_organizations(user: User) -> QuerySet[Organization]:
    """The organisations whose emergency-access report ``user`` may read: an active membership
    as administrator or auditor (none for anyone else)."""
    practitioner = roles.practitioner_of(user)
    if practitioner is None or not practitioner.active:
        return Organization.objects.none()
    return (
        Organization.objects.filter(
            Q(memberships__is_admin=True) | Q(memberships__is_auditor=True),
            memberships__practitioner=practitioner,
            memberships__active=True,
        )
        .distinct()
        .order_by("name", "pk")
    )


def record_report_viewing(
    user: User, filters: EmergencyFilters, rows: int, *, request: HttpRequest | None = None
) -> None:
    """Audit that the report page was read: the filters used (their names) and the row count."""
    used = [
        name
        for name, value in (("start", filters.start), ("end", filters.end))
        if value is not None
    ]
    with transaction.atomic():
        audit.record(
            codes.AUDIT_REPORT,
            actor=user,
            request=request,
            details={"report": "emergency", "format": "html", "rows": rows, "filters": used},
        )

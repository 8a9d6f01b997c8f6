"""The audit report: filter and sort audit entries, write them as CSV, audit the viewing.

It reads the trail with each entry's patient by MRN, so it lives here, above ``audit`` (which
reads no other app) and beside the patients. Shared by ``carethread audit report`` and (later)
the web and REST layers:

    filters = parse_filters(start="2025-01-01", user="...", sort="-occurred_at")
    count = write_csv(filters, out)
    record_viewing(filters, count, actor=request.user, request=request)

``start`` and ``end`` are calendar days (inclusive) in the practice time zone
(``CARETHREAD_TIME_ZONE``); times in the report are UTC.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Unpack

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from carethread.audit import codes
from carethread.audit.actions import ACTION_PATTERN, Who, record
from carethread.audit.models import AuditEvent
from carethread.core.models import Patient

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

HEADER = (
    "seq",
    "occurred_at",
    "actor",
    "actor_role",
    "patient",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "source_address",
    "details",
)
# Report column -> queryset field (``patient_mrn`` is annotated by ``build_queryset``).
COLUMN_FIELDS = {
    "seq": "seq",
    "occurred_at": "occurred_at",
    "actor": "actor_label",
    "actor_role": "actor_role",
    "patient": "patient_mrn",
    "action": "action",
    "object_type": "object_type",
    "object_id": "object_id",
    "outcome": "outcome",
    "source_address": "source_address",
    "details": "details",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


#: Reports a higher app hands down (``carethread audit report --NAME``): name -> a writer of the
#: report as CSV for the period, user and patient filters, returning its row count (messaging
#: registers "emergency", the emergency-access report).
EXTRA_REPORTS: dict[str, Callable[[ReportFilters, SupportsWrite[str]], int]] = {}


class ReportError(ValueError):
    """A filter or sort that cannot be used; the message is safe to show."""


@dataclass(frozen=True)
class ReportFilters:
    start: dt.date | None = None
    end: dt.date | None = None
    actor_id: int | None = None
    actor_label: str | None = None  # the user's UUID
    patient_id: int | None = None
    action: str | None = None
    outcome: str | None = None
    sort: tuple[str, ...] = field(default=("seq",))

    def used(self) -> list[str]:
        """The names of the filters in use (codes: safe for the audit entry)."""
        names = {
            "start": self.start is not None,
            "end": self.end is not None,
            "user": self.actor_label is not None,
            "patient": self.patient_id is not None,
            "action": self.action is not None,
            "outcome": self.outcome is not None,
        }
        return [name for name, on in names.items() if on]


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ReportError(f"--{name} must be a date YYYY-MM-DD, not {value!r}") from None


def _user(value: str) -> tuple[int | None, str]:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    try:
        wanted = uuid.UUID(value)
    except ValueError:
        if "@" not in value:
            raise ReportError("--user must be a user's UUID or email address") from None
        found = users.filter(email__iexact=value.strip()).values_list("pk", "uuid").first()
        if found is None:
            raise ReportError("--user: no user with that email address") from None
        return found[0], str(found[1])
    pk = users.filter(uuid=wanted).values_list("pk", flat=True).first()
    if pk is None and not AuditEvent.objects.filter(actor_label=str(wanted)).exists():
        raise ReportError("--user: no user with that UUID")
    return pk, str(wanted)  # a deleted user is still found by the UUID in the trail


def _sort(value: str) -> tuple[str, ...]:
    keys = tuple(part.strip() for part in value.split(",") if part.strip())
    if not keys:
        raise ReportError("--sort needs at least one field")
    for key in keys:
        if key.removeprefix("-") not in COLUMN_FIELDS:
            raise ReportError(
                f"--sort: unknown field {key.removeprefix('-')!r}; "
                f"use one of {', '.join(COLUMN_FIELDS)}"
            )
    return keys


def parse_filters(
    *,
    start: str | None = None,
    end: str | None = None,
    user: str | None = None,
    patient: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    sort: str | None = None,
) -> ReportFilters:
    """Validate report options given as text; raises ``ReportError``."""
    start_date = _date(start, "start") if start else None
    end_date = _date(end, "end") if end else None
    if start_date and end_date and end_date < start_date:
        raise ReportError("--end is before --start")
    actor_id, actor_label = _user(user) if user else (None, None)
    patient_id = None
    if patient:
        patient_id = Patient.objects.filter(mrn=patient).values_list("pk", flat=True).first()
        if patient_id is None:
            raise ReportError("--patient: no patient with that MRN")
    if action is not None and not ACTION_PATTERN.match(action):
        raise ReportError("--action must be a dotted lowercase code such as auth.login")
    if outcome is not None and outcome not in AuditEvent.Outcome.values:
        raise ReportError(f"--outcome must be one of {', '.join(AuditEvent.Outcome.values)}")
    return ReportFilters(
        start=start_date,
        end=end_date,
        actor_id=actor_id,
        actor_label=actor_label,
        patient_id=patient_id,
        action=action,
        outcome=outcome,
        sort=_sort(sort) if sort else ("seq",),
    )


def _day_start(day: dt.date) -> dt.datetime:
    midnight = dt.datetime.combine(day, dt.time.min)
    return timezone.make_aware(midnight, timezone.get_default_timezone())


def build_queryset(filters: ReportFilters) -> QuerySet[AuditEvent]:
    """The filtered, sorted entries, each with ``patient_mrn`` (one query, no per-row lookups)."""
    mrn = Patient.objects.filter(pk=OuterRef("patient_id")).values("mrn")[:1]
    qs = AuditEvent.objects.annotate(patient_mrn=Subquery(mrn))
    if filters.start:
        qs = qs.filter(occurred_at__gte=_day_start(filters.start))
    if filters.end:
        qs = qs.filter(occurred_at__lt=_day_start(filters.end + dt.timedelta(days=1)))
    if filters.actor_id is not None:
        qs = qs.filter(actor_id=filters.actor_id)
    elif filters.actor_label is not None:
        qs = qs.filter(actor_label=filters.actor_label)
    if filters.patient_id is not None:
        qs = qs.filter(patient_id=filters.patient_id)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.outcome:
        qs = qs.filter(outcome=filters.outcome)
    order = []
    for key in filters.sort:
        column = F(COLUMN_FIELDS[key.removeprefix("-")])
        # The same place for empty values on both databases.
        if key.startswith("-"):
            order.append(column.desc(nulls_last=True))
        else:
            order.append(column.asc(nulls_first=True))
    if not any(key.removeprefix("-") == "seq" for key in filters.sort):
        order.append(F("seq").asc())
    return qs.order_by(*order)


def csv_cell(value: object) -> str:
    """A value as a CSV cell a spreadsheet will not read as a formula."""
    text = "" if value is None else str(value)
    # Keep spreadsheets from reading a cell as a formula.
    return "'" + text if text.startswith(_FORMULA_START) else text


def iter_rows(filters: ReportFilters, *, chunk_size: int = 2000) -> Iterator[list[str]]:
    """The report's rows (without the header), streamed."""
    columns = [COLUMN_FIELDS[name] for name in HEADER]
    for values in build_queryset(filters).values_list(*columns).iterator(chunk_size=chunk_size):
        row = dict(zip(HEADER, values, strict=True))
        occurred = row["occurred_at"].astimezone(dt.UTC).isoformat(timespec="microseconds")
        details = json.dumps(row["details"], sort_keys=True, separators=(",", ":"))
        yield [
            str(row["seq"]),
            occurred,
            *(csv_cell(row[name]) for name in HEADER[2:10]),
            details,
        ]


def write_table(header: Iterable[str], rows: Iterable[list[str]], out: SupportsWrite[str]) -> int:
    """Write ``header`` and ``rows`` as CSV; returns the number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def write_csv(filters: ReportFilters, out: SupportsWrite[str]) -> int:
    """Write the header and the rows as CSV; returns the number of rows."""
    return write_table(HEADER, iter_rows(filters), out)


def record_viewing(
    filters: ReportFilters,
    rows: int,
    *,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    report: str = "",
    **who: Unpack[Who],
) -> AuditEvent:
    """Audit that the report (or the ``EXTRA_REPORTS`` one named ``report``) was viewed or
    exported by ``who``.

    The entry names the filters used, not their values: a patient filter shows as the patient
    column, a user filter as the object.
    """
    details: dict[str, object] = {
        "filters": filters.used(),
        "sort": list(filters.sort),
        "rows": rows,
        "format": "csv",
    }
    if report:
        details["report"] = report
    if filters.action:
        details["action"] = filters.action
    if filters.outcome:
        details["outcome"] = filters.outcome
    return record(
        codes.AUDIT_REPORT,
        patient=filters.patient_id,
        object_type="accounts.user" if filters.actor_label else "",
        object_id=filters.actor_label or "",
        outcome=outcome,
        details=details,
        **who,
    )

"""``/practice/audit``: the audit report of the practices a user audits (an active membership
with ``is_auditor``; everyone else: the house's 404 page).

Every element of an entry is a column (time in UTC, user and role, patient, action, object,
outcome, client address, details), people and patients shown by name as they are now (the trail
holds ids only: ``accounts.audit_queries``). Filters, sorting by each column and offset paging
come from the query string (``audit_form``); the CSV export takes the same filters, needs a fresh
re-authentication and is streamed. Viewing and exporting are audited with the filters as codes
and UUIDs. The hash chain's status is read from the last verification (``audit.status``).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from html import escape
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from carethread.accounts import audit_queries
from carethread.accounts.access import require_auditor
from carethread.audit import codes, status
from carethread.audit.actions import record
from carethread.audit.checkpoints import CheckpointFileError
from carethread.audit.models import AuditEvent
from carethread.core.models import Organization
from carethread.keyfile import KeyRingError
from carethread.web.admin.audit_form import AuditFilterForm
from carethread.web.decorators import AuthedRequest, signed_in_never_cached

COLUMNS = [
    ("seq", "#"),
    ("time", "Time (UTC)"),
    ("user", "User"),
    ("role", "Role"),
    ("patient", "Patient"),
    ("action", "Action"),
    ("object", "Object"),
    ("outcome", "Outcome"),
    ("address", "Client address"),
]
_CSV_NAMES = (
    "seq occurred_at_utc user user_id user_role patient patient_mrn patient_id action "
    "object_type object_id outcome source_address details"
)
CSV_HEADER = _CSV_NAMES.split()
CSV_CHUNK = 2000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _filters_of(request: AuthedRequest, orgs: Sequence[Organization]) -> AuditFilterForm:
    return AuditFilterForm(request.GET, orgs)


def _options(rows: Iterable[tuple[object, str]], chosen: object) -> SafeString:
    """``<option>`` elements (value, label; both escaped), the chosen one selected: built here
    in one pass, since a practice's patients run to thousands."""
    chosen = str(chosen or "")
    parts = []
    for value, label in rows:
        text = str(value)
        mark = " selected" if text == chosen else ""
        parts.append(f'<option value="{escape(text)}"{mark}>{escape(label)}</option>')
    return mark_safe("\n".join(parts))  # noqa: S308 - every value is escaped above


def _choices(form: AuditFilterForm, orgs: Sequence[Organization]) -> dict[str, object]:
    """The user and patient pickers of the filter form."""
    users: list[tuple[object, str]] = [
        (value, f"{family}, {given}")
        for value, family, given in audit_queries.practice_users(orgs).values_list(
            "user__uuid", "family_name", "given_name"
        )
    ]
    chosen = str(form.data.get("user") or "")
    if form.actor_id is not None and chosen not in {str(u[0]) for u in users}:
        # A patient or representative picked from the table: shown by name too.
        users.append((chosen, audit_queries.login_name(form.actor_id)))
    patients = (
        (value, f"{family}, {given} ({mrn})")
        for value, family, given, mrn in audit_queries.practice_patients(orgs).values_list(
            "uuid", "family_name", "given_name", "mrn"
        )
    )
    return {
        "user_options": _options(users, chosen),
        "patient_options": _options(patients, form.data.get("patient")),
    }


def _link(form: AuditFilterForm, **changes: object) -> str:
    """The page's address with the current filters and ``changes`` (a page number reset)."""
    kept = {k: v for k, v in form.data.items() if k != "page" and v not in ("", None)}
    kept.update({k: str(v) for k, v in changes.items() if v is not None})
    return "?" + urlencode(sorted(kept.items()))


def _details_text(details: object) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":")) if details else ""


def _rows(events: list[AuditEvent], form: AuditFilterForm) -> list[dict[str, Any]]:
    names = audit_queries.names_for(events)
    rows = []
    for event in events:
        patient = names.patients.get(event.patient_id) if event.patient_id else None
        actor_uuid = names.actor_uuids.get(event.actor_id) if event.actor_id else None
        rows.append(
            {
                "event": event,
                "actor": names.actors.get(event.actor_id, event.actor_label)
                if event.actor_id
                else event.actor_label,
                "actor_link": _link(form, user=actor_uuid) if actor_uuid else "",
                "patient": patient,
                "patient_link": _link(form, patient=patient.uuid) if patient else "",
                "details": _details_text(event.details),
            }
        )
    return rows


def _headers(form: AuditFilterForm, sort: str) -> list[dict[str, str]]:
    headers = []
    for key, label in COLUMNS:
        current = sort.removeprefix("-") == key
        descending = sort.startswith("-")
        following = key if current and descending else f"-{key}"
        state = ("descending" if descending else "ascending") if current else "none"
        headers.append(
            {"key": key, "label": label, "link": _link(form, sort=following), "aria": state}
        )
    return headers


def _audit(request: AuthedRequest, action: str, form: AuditFilterForm, **extra: object) -> None:
    query = form.query()
    details = {**form.audit_details(), **extra}
    record(
        action,
        patient=query.patient_id,
        object_type="accounts.user" if query.actor_id else "",
        object_id=str(form.cleaned_data.get("user") or ""),
        details=details,
        actor=request.user,
        request=request,
    )


@require_GET
@signed_in_never_cached
def audit_report(request: AuthedRequest) -> HttpResponse:
    orgs = require_auditor(request.user)
    form = _filters_of(request, orgs)
    context: dict[str, Any] = {
        "form": form,
        "orgs": orgs,
        "chain": status.chain_status(),
        "verify_limit": status.VERIFY_NOW_LIMIT,
        **_choices(form, orgs),
    }
    if not form.is_valid():
        return render(request, "admin/audit/report.html", context, status=400)
    query = form.query()
    events, more = audit_queries.page_of(orgs, query)
    with transaction.atomic():
        _audit(request, codes.AUDIT_REPORT_VIEWED, form, page=query.page, rows=len(events))
    context.update(
        rows=_rows(events, form),
        headers=_headers(form, query.sort),
        page=query.page,
        previous=_link(form, page=query.page - 1) if query.page > 1 else "",
        next=_link(form, page=query.page + 1) if more else "",
        export=_link(form),
    )
    return render(request, "admin/audit/report.html", context)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(orgs: Sequence[Organization], form: AuditFilterForm) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(CSV_HEADER)
    rows = audit_queries.filtered(orgs, form.query())
    if rows is None:
        return
    stream = rows.iterator(chunk_size=CSV_CHUNK)
    while chunk := list(islice(stream, CSV_CHUNK)):
        names = audit_queries.names_for(chunk)
        for event in chunk:
            patient = names.patients.get(event.patient_id) if event.patient_id else None
            actor = names.actors.get(event.actor_id, "") if event.actor_id else ""
            yield writer.writerow(
                [
                    event.seq,
                    event.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
                    _cell(actor),
                    _cell(event.actor_label),
                    _cell(event.actor_role),
                    _cell(patient.display_name if patient else ""),
                    _cell(patient.mrn if patient else ""),
                    str(patient.uuid) if patient else "",
                    event.action,
                    _cell(event.object_type),
                    _cell(event.object_id),
                    event.outcome,
                    _cell(event.source_address),
                    _details_text(event.details),
                ]
            )


@require_GET
@signed_in_never_cached
@reauthentication_required
def audit_export(request: AuthedRequest) -> HttpResponseBase:
    orgs = require_auditor(request.user)
    form = _filters_of(request, orgs)
    if not form.is_valid():
        context = {
            "form": form,
            "orgs": orgs,
            "chain": status.chain_status(),
            **_choices(form, orgs),
        }
        return render(request, "admin/audit/report.html", context, status=400)
    with transaction.atomic():
        _audit(request, codes.AUDIT_REPORT_EXPORTED, form, format="csv")
    response = StreamingHttpResponse(_csv_lines(orgs, form), content_type="text/csv")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-report-{stamp}.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@signed_in_never_cached
def audit_verify(request: AuthedRequest) -> HttpResponse:
    require_auditor(request.user)
    try:
        result = status.verify_now(actor=request.user, request=request)
    except (KeyRingError, CheckpointFileError, OSError):
        messages.error(
            request,
            "The check could not run: the key file or the checkpoint file cannot be read. "
            "Tell the server's operator.",
        )
        return redirect("audit_report")
    if result is None:
        messages.error(
            request,
            "The trail is too long to check here: run `carethread audit verify` on the server.",
        )
    elif result.ok:
        messages.success(request, f"The audit trail is intact: {result.entries} entries checked.")
    else:
        messages.error(request, f"The audit trail is broken: {result.problem}.")
    return redirect("audit_report")

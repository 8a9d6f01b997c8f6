"""The audit report page's filter form: period (calendar days in the practice's time zone),
user and patient (by UUID, within the auditor's practices), action, outcome, client address,
sort and page; read into an ``accounts.audit_queries.ReportQuery``."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from carethread.accounts import audit_queries
from carethread.accounts.audit_queries import MAX_PAGES, SORTS, ReportQuery
from carethread.audit import codes
from carethread.audit.models import AuditEvent
from carethread.core.forms import CheckedForm
from carethread.core.models import Organization

SORT_CHOICES = [(key, key) for name in SORTS for key in (name, f"-{name}")]


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _one_pk(rows: QuerySet[Any, Any], value: object, kind: str) -> int | None:
    """The key of the row of ``rows`` with UUID ``value`` (None if no value); a form error if
    it is not one of them."""
    if value is None:
        return None
    found = rows.filter(uuid=value).values_list("pk", flat=True).first()
    if found is None:
        raise forms.ValidationError(f"No {kind} of your practice has this identifier.")
    return int(found)


class AuditFilterForm(CheckedForm):
    start = forms.DateField(required=False, label="From")
    end = forms.DateField(required=False, label="To")
    user = forms.UUIDField(required=False)
    patient = forms.UUIDField(required=False)
    action = forms.ChoiceField(
        required=False, choices=[("", "Any action"), *((c, c) for c in sorted(codes.ALL))]
    )
    outcome = forms.ChoiceField(
        required=False, choices=[("", "Any outcome"), *AuditEvent.Outcome.choices]
    )
    address = forms.CharField(required=False, max_length=45, label="Client address")
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES)
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGES)

    def __init__(self, data: Any, orgs: Sequence[Organization]) -> None:
        super().__init__(data, label_suffix="")
        self.orgs = orgs
        self.actor_id: int | None = None
        self.patient_id: int | None = None

    def clean_address(self) -> str:
        value = str(self.cleaned_data.get("address") or "").strip()
        if value:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise forms.ValidationError(
                    "Enter an IP address, such as 203.0.113.7 or 2001:db8::1."
                ) from None
        return value

    def clean_user(self) -> object:
        logins = audit_queries.practice_login_ids(self.orgs)
        self.actor_id = _one_pk(logins, self.cleaned_data.get("user"), "user")
        return self.cleaned_data.get("user")

    def clean_patient(self) -> object:
        patients = audit_queries.practice_patients(self.orgs)
        self.patient_id = _one_pk(patients, self.cleaned_data.get("patient"), "patient")
        return self.cleaned_data.get("patient")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The end of the period is before its start.")
        return data

    def query(self) -> ReportQuery:
        """The checked filters (call after ``is_valid``)."""
        data = self.cleaned_data
        end = data.get("end")
        return ReportQuery(
            start=_day_start(data["start"]) if data.get("start") else None,
            end=_day_start(end + dt.timedelta(days=1)) if end else None,
            actor_id=self.actor_id,
            patient_id=self.patient_id,
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            address=data.get("address") or "",
            sort=data.get("sort") or "-time",
            page=data.get("page") or 1,
        )

    def audit_details(self) -> dict[str, object]:
        """The filters in use as codes and identifiers (a patient by UUID, never a name)."""
        data = self.cleaned_data
        used: dict[str, object] = {}
        for name in ("start", "end"):
            if data.get(name):
                used[name] = data[name].isoformat()
        for name in ("user", "patient"):
            if data.get(name):
                used[name] = str(data[name])
        for name in ("action", "outcome", "address"):
            if data.get(name):
                used[name] = data[name]
        return {"filters": used, "sort": data.get("sort") or "-time"}

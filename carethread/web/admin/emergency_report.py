"""``/practice/emergency-access/report``: every use of emergency access at the practices where
the signed-in user is an administrator or an auditor (everyone else: the house's 404 page),
with the reason and its free text, who, which patient, when, how long and which conversations
were opened. Reading it is itself audited. ``carethread audit report --emergency`` is the same
report as CSV."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from carethread.core.forms import CheckedForm
from carethread.messaging import emergency_report as report
from carethread.web.decorators import AuthedRequest, signed_in_never_cached


class EmergencyReportForm(CheckedForm):
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: object, **kwargs: object) -> None:  # Django's form arguments
        super().__init__(*args, label_suffix="", **kwargs)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The end is before the start.")
        return data


@require_GET
@signed_in_never_cached
def emergency_report(request: AuthedRequest) -> HttpResponse:
    practices = list(report.report_organizations(request.user))
    if not practices:
        raise Http404
    form = EmergencyReportForm(request.GET or None)
    if request.GET and not form.is_valid():
        context = {"form": form, "practices": practices, "uses": []}
        return render(request, "admin/emergency/report.html", context, status=400)
    data = form.cleaned_data if request.GET else {}
    wanted = report.EmergencyFilters(
        start=data.get("start"),
        end=data.get("end"),
        organization_ids=tuple(org.pk for org in practices),
    )
    uses = report.uses(report.accesses(wanted)[: report.PAGE])
    report.record_report_viewing(request.user, wanted, len(uses), request=request)
    context = {
        "form": form,
        "practices": practices,
        "uses": uses,
        "limited": len(uses) == report.PAGE,
    }
    return render(request, "admin/emergency/report.html", context)

"""The measure dashboard: the Secure Messaging measure report for practice administrators.

* ``/practice/measures`` — a GET form (program, period, level, practice, clinician, the four
  policies); on submit the result rows with the six readings side by side, warnings, what it
  takes, and export links to ``/api/measures/report`` with the same query;
* ``/practice/measures/patients`` — one row's denominator patients, the gap first, with reasons
  in plain words, evidence (linked only to threads the viewer may open) and portal status;
* ``/practice/measures/trend`` — the rate month by month per row (``trend``);
* ``/practice/measures/outreach`` (POST) — "message these patients" from the gap
  (``outreach``).

The forms and the gate are ``forms``; the words and numbers ``text``. The
computation is the API's (``engine.compute``, ``exports``); who may see what is
``carethread.measures.access``. A refusal that would tell an outsider something (not an
administrator, not their practice) is the house's 404 page. Every report page shown is recorded
like the API's (``measure.report``, counts only). URLs carry TINs, NPIs and UUIDs, never an MRN
or a name: patients chosen for outreach travel in POST bodies.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypedDict

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from carethread.core.models import Patient
from carethread.measures import access, engine, exports
from carethread.measures.programs import Level, Numerator
from carethread.measures.report import PatientLine, Portal, Reason
from carethread.measures.request import MeasureRequest
from carethread.messaging.access import visible_threads
from carethread.messaging.models import Message
from carethread.web.decorators import AuthedRequest, signed_in_never_cached
from carethread.web.measures.forms import (
    ReportForm,
    admin_orgs,
    api_url,
    audit_report,
    checked,
    initial_report,
    read_query,
    valid_query,
)
from carethread.web.measures.text import PORTAL, REASONS, reading_headers, row_views
from carethread.web.messaging import reads

CHUNK = 500  # ids per IN (...) list


def exports_for(measure: MeasureRequest) -> list[tuple[str, str]]:
    links = [
        ("JSON", api_url(measure)),
        ("JSON with patient lists", api_url(measure, patients=True)),
        ("CSV", api_url(measure, format="csv")),
        ("Patient CSV", api_url(measure, format="csv", patients=True)),
    ]
    if measure.program.scored and measure.level != Level.EP:
        links.append(("QPP submission JSON", api_url(measure, format="qpp")))
    return links


# -- the dashboard -------------------------------------------------------------------------------


@signed_in_never_cached
@require_GET
def dashboard(request: AuthedRequest) -> HttpResponse:
    orgs = admin_orgs(request)
    context: dict[str, object] = {"orgs": orgs}
    if "program" not in request.GET:
        context["form"] = ReportForm(initial=initial_report(), orgs=orgs)
        return render(request, "measures/dashboard.html", context)
    form, query = read_query(request.GET, orgs)
    context["form"] = form
    measure = checked(form, query, orgs) if query is not None else None
    if query is None or measure is None:
        return render(request, "measures/dashboard.html", context, status=400)
    doc = engine.compute(measure)
    rows, _patients = exports.counts(doc)
    audit_report(request, measure, "html", rows, 0)
    context.update(
        doc=doc,
        measure=measure,
        program=measure.program,
        rows=row_views(doc["results"], measure.program, query),
        reading_headers=reading_headers(),
        exports=exports_for(measure),
        trend_url=query.url("measures_trend"),
        capability=measure.program.numerator is Numerator.CAPABILITY,
    )
    return render(request, "measures/dashboard.html", context)


# -- one row's patients --------------------------------------------------------------------------


def chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def patients_by_mrn(mrns: Sequence[str]) -> dict[str, Patient]:
    found: dict[str, Patient] = {}
    for part in chunks(mrns):
        found.update((p.mrn, p) for p in Patient.objects.filter(mrn__in=part))
    return found


def visible_evidence(request: AuthedRequest, identifiers: Sequence[str]) -> dict[str, str]:
    """Message identifier -> thread URL, for the messages whose thread the viewer may open."""
    threads = visible_threads(reads.viewer_of(request))
    links: dict[str, str] = {}
    for part in chunks(identifiers):
        for identifier, thread_uuid in Message.objects.filter(
            identifier__in=part, thread__in=threads
        ).values_list("identifier", "thread__uuid"):
            links[identifier] = reverse("messaging_thread", args=[thread_uuid])
    return links


class PatientView(TypedDict):
    """A row's denominator patient as the patients page shows it."""

    mrn: str
    name: str  # empty when the MRN matches no patient
    uuid: str
    in_numerator: bool
    reason: Reason
    reason_text: str
    evidence: list[tuple[str, str | None]]  # (identifier, thread URL the viewer may open)
    portal: Portal
    portal_text: str


def patient_views(request: AuthedRequest, entries: list[PatientLine]) -> list[PatientView]:
    found = patients_by_mrn([e["patient"] for e in entries])
    evidence = sorted({i for e in entries for i in e["evidence"]})
    links = visible_evidence(request, evidence)
    views: list[PatientView] = []
    for entry in entries:
        patient = found.get(entry["patient"])
        views.append(
            {
                "mrn": entry["patient"],
                "name": patient.display_name if patient else "",
                "uuid": str(patient.uuid) if patient else "",
                "in_numerator": entry["in_numerator"],
                "reason": entry["reason"],
                "reason_text": REASONS.get(entry["reason"], entry["reason"]),
                "evidence": [(i, links.get(i)) for i in entry["evidence"]],
                "portal": entry["portal"],
                "portal_text": PORTAL.get(entry["portal"], entry["portal"]),
            }
        )
    return views


@signed_in_never_cached
@require_GET
def patients(request: AuthedRequest) -> HttpResponse:
    orgs, form, query = valid_query(request)
    row_tin = request.GET.get("row_tin") or None
    row_npi = request.GET.get("row_npi") or None
    measure = checked(form, query, orgs, tin=row_tin, npi=row_npi, patients=True)
    if measure is None or measure.program.numerator is Numerator.CAPABILITY:
        raise Http404
    doc = engine.compute(measure)
    context: dict[str, object] = {
        "program": measure.program,
        "measure": measure,
        "dashboard_url": query.url("measures_dashboard"),
        "report_fields": query.fields(),
    }
    try:
        access.check_patient_lists(measure, doc, orgs.values())
    except access.Refused as refused:
        context["refused"] = refused.message
        return render(request, "measures/patients.html", context, status=403)
    wanted = [row for row in doc["results"] if row["tin"] == row_tin and row["npi"] == row_npi]
    if len(wanted) != 1:
        raise Http404
    row = wanted[0]
    listed = patient_views(request, row.get("patients") or [])
    audit_report(request, measure, "html", 1, len(listed))
    gap = [p for p in listed if not p["in_numerator"]]
    limit = settings.CARETHREAD_OUTREACH_LIMIT
    reachable = [p for p in gap if p["portal"] == "enrolled" and p["uuid"]]
    context.update(
        doc=doc,
        row=row_views([row], measure.program)[0],
        gap=gap,
        counted=[p for p in listed if p["in_numerator"]],
        outreach=reachable,
        over_limit=len(reachable) > limit,
        limit=limit,
        not_enrolled=sum(1 for p in gap if p["portal"] == "not-enrolled"),
        row_tin=row_tin or "",
        row_npi=row_npi or "",
    )
    return render(request, "measures/patients.html", context)

"""The measure dashboard: the Secure Messaging measure report for practice administrators.

* ``/practice/measures`` — a GET form (program, period, level, practice, clinician, the four
  policies); on submit the result rows with the six readings side by side, warnings, what it
  takes, and export links to ``/api/measures/report`` with the same query;
* ``/practice/measures/patients`` — one row's denominator patients, the gap first, with reasons
  in plain words, evidence (linked only to threads the viewer may open) and portal status;
* ``/practice/measures/trend`` — the rate month by month per row: one ``engine.compute`` per
  month (at most ``MAX_TREND_MONTHS``), drawn as inline SVG with the same numbers in a table;
* ``/practice/measures/outreach`` (POST) — "message these patients": the chosen gap patients,
  subject / body / category, then ``outreach.preview`` and ``outreach.confirm`` / ``cancel``.

The computation is the API's (``engine.compute``, ``exports``); who may see what is
``carethread.measures.access``. A refusal that would tell an outsider something (not an
administrator, not their practice) is the house's 404 page. Every report page shown is recorded
like the API's (``measure.report``, counts only). URLs carry TINs, NPIs and UUIDs, never an MRN
or a name: patients chosen for outreach travel in POST bodies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from carethread.accounts.access import patients_for_admin
from carethread.audit import codes
from carethread.audit.actions import record
from carethread.core.models import Organization, Patient, Practitioner
from carethread.measures import access, engine, exports
from carethread.measures.programs import PROGRAMS, Level, Numerator, Program
from carethread.measures.request import (
    Actors,
    MeasureInputError,
    MeasureRequest,
    Window,
    parse,
)
from carethread.messaging import outreach as outreach_actions
from carethread.messaging.access import visible_threads
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Message
from carethread.web import messaging_reads as reads
from carethread.web.messaging_forms import CATEGORY_CHOICES, PageForm, choices_of
from carethread.web.messaging_pages import form_error, messaging_page

API_REPORT = "/api/measures/report"
MAX_TREND_MONTHS = 24
CHUNK = 500  # ids per IN (...) list

REASONS = {
    "clinician-sent": "The clinician sent the patient a message",
    "clinician-replied": "The clinician answered the patient",
    "delegate-sent": "Staff sent a message on the clinician's behalf",
    "practice-sent": "Someone else at the practice sent a message (credited by the policy)",
    "patient-sent": "The patient sent the clinician a message",
    "no-message": "No message in the period",
    "unanswered-patient-message": "The patient wrote and no credited answer followed",
    "outside-window": "A message was sent, but outside the period",
    "sent-by-staff": "Staff messaged the patient; this policy does not credit it",
    "sent-by-other-clinician": "Another clinician messaged the patient; this policy does not "
    "credit it",
}
PORTAL = {
    "enrolled": "Enrolled",
    "not-enrolled": "Not enrolled: invite first",
    "blocked": "Portal access blocked",
}
SKIPPED = {
    outreach_actions.NOT_PATIENT: "not a patient of this practice",
    outreach_actions.NOT_ENROLLED: "no portal access yet: invite first",
    outreach_actions.BLOCKED: "portal access blocked",
}
ACTORS_LABELS = {
    Actors.CLINICIAN: "Clinician",
    Actors.DELEGATE: "Clinician or delegate",
    Actors.PRACTICE: "Anyone at the practice",
}


# -- the report form -----------------------------------------------------------------------------


class ReportForm(PageForm):
    program = forms.ChoiceField(
        label="Program", choices=[(p.id, f"{p.id}: {p.title}") for p in PROGRAMS.values()]
    )
    start = forms.DateField(label="First day", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="Last day", widget=forms.DateInput(attrs={"type": "date"}))
    level = forms.ChoiceField(
        label="Level",
        required=False,
        choices=[
            ("", "The program's level"),
            (Level.INDIVIDUAL.value, "Individual: one row per clinician and practice"),
            (Level.GROUP.value, "Group: one row per practice"),
            (Level.EP.value, "Eligible professional: one row per clinician"),
        ],
    )
    tin = forms.ChoiceField(label="Practice", required=False)
    npi = forms.CharField(
        label="Clinician NPI (optional)",
        required=False,
        max_length=10,
        help_text="Only the rows of this clinician.",
    )
    actors = forms.ChoiceField(
        label="Who earns the credit",
        choices=[
            (Actors.CLINICIAN.value, "The clinician only"),
            (Actors.DELEGATE.value, "The clinician, or staff writing on their behalf"),
            (Actors.PRACTICE.value, "Anyone at the practice"),
        ],
    )
    halo = forms.ChoiceField(
        label="Halo effect",
        choices=[
            ("false", "Off"),
            ("true", "On: one clinician's message counts for every clinician who saw the patient"),
        ],
    )
    exclude_pos = forms.CharField(
        label="Leave out visits at places of service",
        required=False,
        max_length=64,
        help_text="Two-digit codes separated by commas (21 inpatient hospital, 23 emergency "
        "room), or none.",
    )
    window = forms.ChoiceField(
        label="Messages count when sent",
        choices=[
            (Window.PERIOD.value, "Within the period"),
            (Window.CALENDAR_YEAR.value, "Anywhere in the period's calendar year"),
        ],
    )

    def __init__(self, *args: Any, orgs: dict[str, Organization], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tin = choices_of(self, "tin")
        tin.choices = [(t, f"{org.name} (TIN {t})") for t, org in orgs.items()]
        if len(orgs) > 1:
            tin.required = True
        else:
            tin.widget = forms.HiddenInput()


def initial_report() -> dict[str, Any]:
    """Last calendar year, the program's level, the default policies."""
    year = timezone.localdate().year - 1
    return {
        "program": "pi-2018",
        "start": dt.date(year, 1, 1),
        "end": dt.date(year, 12, 31),
        "actors": Actors.CLINICIAN.value,
        "halo": "false",
        "exclude_pos": "21,23",
        "window": Window.PERIOD.value,
    }


@dataclass(frozen=True)
class ReportQuery:
    """The dashboard's query, as the strings its links carry."""

    program: str
    start: str
    end: str
    level: str
    tin: str
    npi: str
    actors: str
    halo: str
    exclude_pos: str
    window: str

    @classmethod
    def from_form(cls, data: dict[str, Any]) -> ReportQuery:
        return cls(
            program=data["program"],
            start=data["start"].isoformat(),
            end=data["end"].isoformat(),
            level=data.get("level") or "",
            tin=data.get("tin") or "",
            npi=(data.get("npi") or "").strip(),
            actors=data["actors"],
            halo=data["halo"],
            exclude_pos=(data.get("exclude_pos") or "").strip() or "none",
            window=data["window"],
        )

    def fields(self) -> list[tuple[str, str]]:
        return [(name, value) for name, value in self.__dict__.items() if value]

    def url(self, name: str, **extra: str | None) -> str:
        pairs = self.fields() + [(k, v) for k, v in extra.items() if v]
        return reverse(name) + "?" + urlencode(pairs)

    def measure(
        self, *, tin: str | None = None, npi: str | None = None, patients: bool = False
    ) -> MeasureRequest:
        """The checked request (``MeasureInputError`` as the API's 400 would say it)."""
        return parse(
            program=self.program,
            start=self.start,
            end=self.end,
            level=self.level or None,
            tin=tin or self.tin or None,
            npi=npi or self.npi or None,
            policies=[
                f"actors={self.actors}",
                f"halo={self.halo}",
                f"exclude_pos={self.exclude_pos}",
                f"window={self.window}",
            ],
            patients=patients,
        )


def api_url(measure: MeasureRequest, *, format: str = "json", patients: bool = False) -> str:
    """The REST route's URL for the same report (GET works with the browser's session)."""
    policy = measure.policy
    pairs = [
        ("program", measure.program.id),
        ("start", measure.start.isoformat()),
        ("end", measure.end.isoformat()),
        ("level", str(measure.level)),
    ]
    pairs += [(k, v) for k, v in (("tin", measure.tin), ("npi", measure.npi)) if v]
    pairs += [
        ("policy", f"actors={policy.actors}"),
        ("policy", f"halo={'true' if policy.halo else 'false'}"),
        ("policy", f"exclude_pos={','.join(policy.exclude_pos) or 'none'}"),
        ("policy", f"window={policy.window}"),
        ("format", format),
    ]
    if patients:
        pairs.append(("patients", "true"))
    return API_REPORT + "?" + urlencode(pairs)


# -- the gate ------------------------------------------------------------------------------------


def admin_orgs(request: HttpRequest) -> dict[str, Organization]:
    """The practices the user administers; the house's 404 for anyone else."""
    try:
        return access.require_admin(request.user)
    except access.Refused:
        raise Http404 from None


def read_query(
    data: QueryDict, orgs: dict[str, Organization]
) -> tuple[ReportForm, ReportQuery | None]:
    """The report form over ``data``; a practice the user does not administer is a 404."""
    for key in ("tin", "row_tin"):
        tin = data.get(key)
        if tin and tin not in orgs:
            raise Http404
    form = ReportForm(data, orgs=orgs)
    if not form.is_valid():
        return form, None
    return form, ReportQuery.from_form(form.cleaned_data)


def checked(
    form: ReportForm,
    query: ReportQuery,
    orgs: dict[str, Organization],
    *,
    tin: str | None = None,
    npi: str | None = None,
    patients: bool = False,
) -> MeasureRequest | None:
    """The request scoped to the user's practices; input errors go on the form."""
    try:
        return access.scoped(query.measure(tin=tin, npi=npi, patients=patients), orgs)
    except MeasureInputError as exc:
        form.add_error(None, str(exc))
    except access.Refused as refused:
        if refused.status == 403:
            raise Http404 from None
        form.add_error("tin", refused.message)
    return None


def audit_report(
    request: HttpRequest, measure: MeasureRequest, fmt: str, rows: int, n: int
) -> None:
    options = exports.OutputOptions(format=fmt, patients=measure.patients)
    record(
        codes.MEASURE_REPORT,
        actor=request.user,
        request=request,
        details=exports.audit_details(measure, options, rows, n),
    )


# -- words and numbers ---------------------------------------------------------------------------


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def threshold_text(threshold: dict[str, Any] | None) -> str:
    if not threshold:
        return ""
    if "rate_gt" in threshold:
        return f"more than {threshold['rate_gt'] * 100:g}%"
    n = threshold["numerator_gte"]
    return f"at least {n} patient{'s' if n != 1 else ''}"


def outcome(program: Program, row: dict[str, Any]) -> tuple[str, str]:
    """(text, CSS state) of a row's result: pass/fail, points, or the capability's yes/no."""
    if program.numerator is Numerator.CAPABILITY:
        on = bool(row.get("value"))
        return ("Enabled throughout" if on else "Not enabled throughout", "pass" if on else "fail")
    if program.scored:
        return (f"{row.get('points') or 0} of 10 points", "points")
    if row.get("met"):
        return ("Pass", "pass")
    return ("Fail", "fail")


def what_it_takes_text(program: Program, row: dict[str, Any]) -> str:
    wanted = row.get("what_it_takes")
    if program.numerator is Numerator.CAPABILITY:
        return ""
    if wanted is None:
        if not row.get("denominator"):
            return "No patients seen in the period"
        if program.scored:
            return "Full points"
        return "Cannot pass with this many patients"
    k = wanted["more_patients"]
    patients = f"{k} more patient{'s' if k != 1 else ''}"
    if wanted["goal"] == "points":
        p = wanted["points"]
        return f"Message {patients} for {p} point{'s' if p != 1 else ''}"
    if k == 0:
        return "Passing"
    return f"Message {patients} to pass"


def exclusions_text(exclusions: dict[str, Any]) -> str:
    parts = []
    if exclusions.get("no_office_visits"):
        parts.append("No office visits")
    if exclusions.get("broadband"):
        parts.append("Low broadband")
    return ", ".join(parts) or "None"


def reading_cells(program: Program, row: dict[str, Any]) -> list[dict[str, Any]]:
    cells = []
    for reading in row.get("readings") or []:
        if program.scored:
            judged = f"{reading.get('points') or 0} pts"
        elif reading.get("met") is None:
            judged = ""
        else:
            judged = "Pass" if reading["met"] else "Fail"
        cells.append(
            {
                "numerator": reading.get("numerator"),
                "rate": percent(reading.get("rate")),
                "judged": judged,
                "applied": reading.get("applied"),
            }
        )
    return cells


def reading_headers() -> list[str]:
    return [
        f"{ACTORS_LABELS[actors]}{', halo' if halo else ''}" for actors, halo in engine.READINGS
    ]


def names(doc: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Practice names by TIN and clinician names by NPI for the rows (two queries)."""
    results = doc.get("results", [])
    tins = {row["tin"] for row in results if row.get("tin")}
    npis = {row["npi"] for row in results if row.get("npi")}
    orgs = {o.tin: o.name for o in Organization.objects.filter(tin__in=tins)}
    people = {p.npi or "": p.display_name for p in Practitioner.objects.filter(npi__in=npis)}
    return orgs, people


def row_views(
    doc: dict[str, Any], program: Program, query: ReportQuery | None = None
) -> list[dict[str, Any]]:
    orgs, people = names(doc)
    rows = []
    for row in doc.get("results", []):
        text, state = outcome(program, row)
        view = {
            "tin": row.get("tin"),
            "npi": row.get("npi"),
            "practice": orgs.get(row.get("tin") or ""),
            "clinician": people.get(row.get("npi") or ""),
            "numerator": row.get("numerator"),
            "denominator": row.get("denominator"),
            "gap": (row.get("denominator") or 0) - (row.get("numerator") or 0),
            "rate": percent(row.get("rate")),
            "threshold": threshold_text(row.get("threshold")),
            "outcome": text,
            "state": state,
            "what": what_it_takes_text(program, row),
            "exclusions": exclusions_text(row.get("exclusions") or {}),
            "readings": reading_cells(program, row),
        }
        if query is not None and program.numerator is not Numerator.CAPABILITY:
            view["patients_url"] = query.url(
                "measures_patients", row_tin=row.get("tin"), row_npi=row.get("npi")
            )
        rows.append(view)
    return rows


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


@messaging_page
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    orgs = admin_orgs(request)
    context: dict[str, Any] = {"orgs": orgs}
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
        rows=row_views(doc, measure.program, query),
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


def visible_evidence(request: HttpRequest, identifiers: Sequence[str]) -> dict[str, str]:
    """Message identifier -> thread URL, for the messages whose thread the viewer may open."""
    threads = visible_threads(reads.viewer_of(request))
    links: dict[str, str] = {}
    for part in chunks(identifiers):
        for identifier, thread_uuid in Message.objects.filter(
            identifier__in=part, thread__in=threads
        ).values_list("identifier", "thread__uuid"):
            links[identifier] = reverse("messaging_thread", args=[thread_uuid])
    return links


def patient_views(request: HttpRequest, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = patients_by_mrn([e["patient"] for e in entries])
    evidence = sorted({i for e in entries for i in e.get("evidence") or []})
    links = visible_evidence(request, evidence)
    views = []
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
                "evidence": [(i, links.get(i)) for i in entry.get("evidence") or []],
                "portal": entry["portal"],
                "portal_text": PORTAL.get(entry["portal"], entry["portal"]),
            }
        )
    return views


@messaging_page
@require_GET
def patients(request: HttpRequest) -> HttpResponse:
    orgs = admin_orgs(request)
    form, query = read_query(request.GET, orgs)
    if query is None:
        raise Http404
    row_tin = request.GET.get("row_tin") or None
    row_npi = request.GET.get("row_npi") or None
    measure = checked(form, query, orgs, tin=row_tin, npi=row_npi, patients=True)
    if measure is None or measure.program.numerator is Numerator.CAPABILITY:
        raise Http404
    doc = engine.compute(measure)
    context: dict[str, Any] = {
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
    wanted = [
        row for row in doc["results"] if row.get("tin") == row_tin and row.get("npi") == row_npi
    ]
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
        row=row_views({"results": [row]}, measure.program)[0],
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


# -- the rate over time --------------------------------------------------------------------------


def months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The calendar months of ``start..end``, clipped to it."""
    spans = []
    first = start
    while first <= end:
        following = (first.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        spans.append((first, min(end, following - dt.timedelta(days=1))))
        first = following
    return spans


CHART_W, CHART_H = 320, 150
PAD_L, PAD_R, PAD_T, PAD_B = 44, 10, 10, 26
SCALES = (0.1, 0.2, 0.25, 0.5, 1.0)


def chart_scale(series: Iterable[dict[str, Any]], threshold: float | None) -> float:
    top = max([threshold or 0.0] + [r for s in series for r in s["rates"] if r is not None])
    return next(scale for scale in SCALES if top <= scale)


def chart(
    series: dict[str, Any], labels: list[str], short: list[str], scale: float, gate: float | None
) -> dict[str, Any]:
    """The geometry of one small chart (viewBox units); None rates break the line."""
    n = len(labels)
    width = CHART_W - PAD_L - PAD_R
    height = CHART_H - PAD_T - PAD_B

    def x(i: int) -> float:
        return round(PAD_L + (width * (i + 0.5) / n), 1)

    def y(rate: float) -> float:
        return round(PAD_T + height * (1 - min(rate, scale) / scale), 1)

    lines: list[str] = []
    current: list[str] = []
    dots = []
    for i, rate in enumerate(series["rates"]):
        if rate is None:
            if current:
                lines.append(" ".join(current))
            current = []
            continue
        current.append(f"{x(i)},{y(rate)}")
        dots.append({"x": x(i), "y": y(rate), "label": f"{labels[i]}: {percent(rate)}"})
    if current:
        lines.append(" ".join(current))
    step = 1 if n <= 12 else 3
    return {
        "lines": lines,
        "dots": dots,
        "grid": [
            {"y": y(value), "label": f"{value * 100:g}%"} for value in (0.0, scale / 2, scale)
        ],
        "ticks": [{"x": x(i), "label": short[i]} for i in range(0, n, step)],
        "threshold": None if gate is None else y(gate),
        "left": PAD_L,
        "right": CHART_W - PAD_R,
        "bottom": CHART_H - PAD_B,
        "label_y": CHART_H - 8,
    }


def describe(series: dict[str, Any], labels: list[str]) -> str:
    known = [(labels[i], r) for i, r in enumerate(series["rates"]) if r is not None]
    if not known:
        return "No patients seen in any month."
    (first_label, first), (last_label, last) = known[0], known[-1]
    return (
        f"Monthly rate from {percent(first)} in {first_label} to {percent(last)} in "
        f"{last_label}; lowest {percent(min(r for _l, r in known))}, highest "
        f"{percent(max(r for _l, r in known))}."
    )


@messaging_page
@require_GET
def trend(request: HttpRequest) -> HttpResponse:
    orgs = admin_orgs(request)
    form, query = read_query(request.GET, orgs)
    if query is None:
        raise Http404
    measure = checked(form, query, orgs)
    context: dict[str, Any] = {"form": form, "dashboard_url": query.url("measures_dashboard")}
    if measure is None:
        return render(request, "measures/trend.html", context, status=400)
    context.update(program=measure.program, measure=measure)
    spans = months(measure.start, measure.end)
    if measure.program.numerator is Numerator.CAPABILITY:
        context["problem"] = (
            f"{measure.program.id} is a yes/no capability: it has no rate to chart."
        )
        return render(request, "measures/trend.html", context)
    if len(spans) > MAX_TREND_MONTHS:
        context["problem"] = (
            f"The chart covers at most {MAX_TREND_MONTHS} months: choose a shorter period."
        )
        return render(request, "measures/trend.html", context, status=400)
    labels = [first.strftime("%b %Y") for first, _last in spans]
    short = [first.strftime("%b" if len(spans) <= 12 else "%b %y") for first, _last in spans]
    series: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    merged: dict[str, Any] = {"results": []}
    for i, (first, last) in enumerate(spans):
        doc = engine.compute(replace(measure, start=first, end=last))
        for row in doc["results"]:
            key = (row.get("tin"), row.get("npi"))
            if key not in series:
                series[key] = {"rates": [None] * len(spans), "cells": [None] * len(spans)}
                merged["results"].append({"tin": key[0], "npi": key[1]})
            series[key]["rates"][i] = row.get("rate")
            series[key]["cells"][i] = (row.get("numerator"), row.get("denominator"))
    orgs_named, people = names(merged)
    threshold = measure.program.threshold
    gate = (
        None
        if threshold is None or threshold.rate_gt is None
        else (threshold.rate_gt[0] / threshold.rate_gt[1])
    )
    scale = chart_scale(series.values(), gate)
    charts = []
    for n, (key, found) in enumerate(
        sorted(series.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or ""))
    ):
        tin, npi = key
        who = people.get(npi or "") if npi else orgs_named.get(tin or "", "")
        title = ", ".join(
            part for part in (who, f"NPI {npi}" if npi else "", f"TIN {tin}" if tin else "") if part
        )
        charts.append(
            {
                "id": f"trend-{n}",
                "title": title,
                "desc": describe(found, labels),
                "geometry": chart(found, labels, short, scale, gate),
                "cells": [
                    {"rate": percent(r), "counts": c}
                    for r, c in zip(found["rates"], found["cells"], strict=True)
                ],
            }
        )
    audit_report(request, measure, "chart", len(charts), 0)
    context.update(
        labels=labels,
        charts=charts,
        width=CHART_W,
        height=CHART_H,
        gate=None if gate is None else percent(gate),
    )
    return render(request, "measures/trend.html", context)


# -- message these patients ----------------------------------------------------------------------


class OutreachForm(PageForm):
    patients = forms.MultipleChoiceField(
        label="Patients to message", widget=forms.CheckboxSelectMultiple
    )
    on_behalf_of = forms.ChoiceField(
        label="Send on behalf of",
        required=False,
        help_text="The clinician you are writing for; the message shows both names.",
    )
    category = forms.ChoiceField(label="Category", choices=CATEGORY_CHOICES)
    subject = forms.CharField(label="Subject", max_length=200)
    body = forms.CharField(
        label="Message",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="You may use {patient_first_name}, {patient_name}, {clinician_name} and "
        "{practice_name}: each patient gets their own.",
    )

    def __init__(
        self,
        *args: Any,
        patients: list[tuple[str, str]],
        clinicians: list[tuple[str, str]] | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices_of(self, "patients").choices = patients
        if clinicians is None:
            del self.fields["on_behalf_of"]
        else:
            choices_of(self, "on_behalf_of").choices = [("", "Nobody: I write myself"), *clinicians]


def outreach_organization(
    data: QueryDict, orgs: dict[str, Organization]
) -> tuple[Organization, ReportQuery]:
    """The practice an outreach is sent from: the row's, else the report's (administered)."""
    _form, query = read_query(data, orgs)
    if query is None:
        raise Http404
    tin = data.get("row_tin") or query.tin or (next(iter(orgs)) if len(orgs) == 1 else "")
    organization = orgs.get(tin)
    if organization is None:
        raise Http404
    return organization, query


def back_url(data: QueryDict, orgs: dict[str, Organization]) -> str:
    _form, query = read_query(data, orgs)
    if query is None:
        return reverse("measures_dashboard")
    return query.url("measures_patients", row_tin=data.get("row_tin"), row_npi=data.get("row_npi"))


@messaging_page
@require_POST
def outreach(request: HttpRequest) -> HttpResponse:
    orgs = admin_orgs(request)
    organization, query = outreach_organization(request.POST, orgs)
    viewer = reads.viewer_of(request)
    keys = []
    for value in request.POST.getlist("candidate"):
        try:
            keys.append(str(reads.parse_uuid(value)))
        except Http404:
            continue
    # Only patients of the practices the user administers: a UUID says nothing otherwise.
    found = {
        str(p.uuid): p for p in patients_for_admin(request.user).filter(uuid__in=keys[:10_000])
    }
    candidates = [found[key] for key in dict.fromkeys(keys) if key in found]
    limit = settings.CARETHREAD_OUTREACH_LIMIT
    row_npi = request.POST.get("row_npi") or ""
    clinicians = reads.clinician_choices(viewer, [organization])
    row_clinician = Practitioner.objects.filter(npi=row_npi).first() if row_npi else None
    initial: dict[str, Any] = {"patients": [str(p.uuid) for p in candidates[:limit]]}
    if row_clinician is not None and any(
        key == str(row_clinician.uuid) for key, _ in clinicians or []
    ):
        initial["on_behalf_of"] = str(row_clinician.uuid)
    previewing = request.POST.get("stage") == "preview"
    form = OutreachForm(
        request.POST if previewing else None,
        initial=initial,
        patients=[(str(p.uuid), f"{p.display_name} (MRN {p.mrn})") for p in candidates],
        clinicians=clinicians,
    )
    context: dict[str, Any] = {
        "form": form,
        "organization": organization,
        "report_fields": query.fields(),
        "row_tin": request.POST.get("row_tin") or "",
        "row_npi": row_npi,
        "back_url": back_url(request.POST, orgs),
        "limit": limit,
        "over_limit": len(candidates) > limit,
        "candidates": candidates,
        "row_clinician": row_clinician,
        "sender_is_row_clinician": row_clinician is not None
        and viewer.practitioner is not None
        and row_clinician.pk == viewer.practitioner.pk,
    }
    if previewing and form.is_valid():
        data = form.cleaned_data
        behalf = None
        if data.get("on_behalf_of"):
            behalf = Practitioner.objects.filter(uuid=data["on_behalf_of"]).first()
        try:
            row = outreach_actions.preview(
                request.user,
                organization=organization,
                patients=data["patients"],
                category=data["category"],
                subject=data["subject"],
                body=data["body"],
                on_behalf_of=behalf,
                request=request,
            )
        except MessagingError as error:
            form_error(form, error)
        else:
            summary: outreach_actions.OutreachSummary = row.summary  # type: ignore[attr-defined]
            by_uuid = {str(p.uuid): p for p in candidates}
            context.update(
                outreach=row,
                reachable=[by_uuid[str(u)] for u in summary.reachable if str(u) in by_uuid],
                skipped=[
                    (by_uuid.get(key), SKIPPED.get(reason, reason))
                    for key, reason in summary.skipped
                ],
                sample_subject=summary.sample_subject,
                sample_body=summary.sample_body,
            )
            return render(request, "measures/outreach_preview.html", context)
    status = 400 if form.errors else 200
    return render(request, "measures/outreach_compose.html", context, status=status)


def _own_outreach(request: HttpRequest, outreach_uuid: str, orgs: dict[str, Organization]) -> Any:
    row = outreach_actions.outreach_for(request.user, reads.parse_uuid(outreach_uuid))
    if row.organization.tin not in orgs:
        raise Http404
    return row


@messaging_page
@require_POST
def outreach_confirm(request: HttpRequest, outreach_uuid: str) -> HttpResponse:
    orgs = admin_orgs(request)
    row = _own_outreach(request, outreach_uuid, orgs)
    try:
        sent = outreach_actions.confirm(request.user, row, request=request)
    except MessagingError as error:
        messages.error(request, error.message)
    else:
        n = len(sent)
        messages.success(
            request, f"{n} message{'s' if n != 1 else ''} sent: one new conversation per patient."
        )
    return redirect(back_url(request.POST, orgs))


@messaging_page
@require_POST
def outreach_cancel(request: HttpRequest, outreach_uuid: str) -> HttpResponse:
    orgs = admin_orgs(request)
    row = _own_outreach(request, outreach_uuid, orgs)
    try:
        outreach_actions.cancel(request.user, row, request=request)
    except MessagingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The outreach was cancelled; nothing was sent.")
    return redirect(back_url(request.POST, orgs))

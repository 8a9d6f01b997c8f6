"""The measure dashboard's forms and the gate every measure page passes.

``ReportForm`` is the report's GET form (program, period, level, practice, clinician, the four
policies); ``ReportQuery`` is its cleaned answer as the strings the pages' links carry, turned
into a ``MeasureRequest`` by the same ``parse`` the API and the command line use. ``read_query``
and ``checked`` are the gate: a practice the user does not administer is the house's 404, bad
input goes on the form. ``OutreachForm`` is the "message these patients" form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import Http404, QueryDict
from django.urls import reverse
from django.utils import timezone

from carethread.audit import codes
from carethread.audit.actions import record
from carethread.core.models import Organization
from carethread.measures import access, exports
from carethread.measures.programs import PROGRAMS, Level
from carethread.measures.request import (
    Actors,
    MeasureInputError,
    MeasureRequest,
    RequestInput,
    Window,
    parse,
)
from carethread.web.decorators import AuthedRequest
from carethread.web.messaging.forms import (
    CATEGORY_CHOICES,
    Choices,
    FormData,
    PageForm,
    choices_of,
)

API_REPORT = "/api/measures/report"


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

    def __init__(
        self,
        data: FormData | None = None,
        *,
        initial: dict[str, object] | None = None,
        orgs: dict[str, Organization],
    ) -> None:
        super().__init__(data, initial=initial)
        tin = choices_of(self, "tin")
        tin.choices = [(t, f"{org.name} (TIN {t})") for t, org in orgs.items()]
        if len(orgs) > 1:
            tin.required = True
        else:
            tin.widget = forms.HiddenInput()


def initial_report() -> dict[str, object]:
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
            RequestInput(
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
        )


def api_url(measure: MeasureRequest, *, format: str = "json", patients: bool = False) -> str:
    """The REST route's URL for the same report (GET works with the browser's session)."""
    pairs = [
        ("program", measure.program.id),
        ("start", measure.start.isoformat()),
        ("end", measure.end.isoformat()),
        ("level", str(measure.level)),
    ]
    pairs += [(k, v) for k, v in (("tin", measure.tin), ("npi", measure.npi)) if v]
    pairs += [("policy", argument) for argument in measure.policy.as_arguments()]
    pairs.append(("format", format))
    if patients:
        pairs.append(("patients", "true"))
    return API_REPORT + "?" + urlencode(pairs)


# -- the gate ------------------------------------------------------------------------------------


@contextmanager
def outsiders_404() -> Iterator[None]:
    """The measure gate's 403 refusals (not an administrator, not their practice) as the house's
    404; other refusals go on."""
    try:
        yield
    except access.Refused as refused:
        if refused.status == 403:
            raise Http404 from None
        raise


def admin_orgs(request: AuthedRequest) -> dict[str, Organization]:
    """The practices the user administers; the house's 404 for anyone else."""
    with outsiders_404():
        return access.require_admin(request.user)


def read_query(
    data: QueryDict, orgs: dict[str, Organization]
) -> tuple[ReportForm, ReportQuery | None]:
    """The report form over ``data``; a practice the user does not administer is a 404."""
    with outsiders_404():
        for key in ("tin", "row_tin"):
            tin = data.get(key)
            if tin:
                access.administered_practice(orgs, tin)
    form = ReportForm(data, orgs=orgs)
    if not form.is_valid():
        return form, None
    return form, ReportQuery.from_form(form.cleaned_data)


def valid_query(
    request: AuthedRequest,
) -> tuple[dict[str, Organization], ReportForm, ReportQuery]:
    """The practices the user administers, the report form over the query string and its
    query; a 404 when the query is not valid (the pages behind the dashboard's links)."""
    orgs = admin_orgs(request)
    form, query = read_query(request.GET, orgs)
    if query is None:
        raise Http404
    return orgs, form, query


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
        with outsiders_404():
            return access.scoped(query.measure(tin=tin, npi=npi, patients=patients), orgs)
    except MeasureInputError as exc:
        form.add_error(None, str(exc))
    except access.Refused as refused:
        form.add_error("tin", refused.message)
    return None


def audit_report(
    request: AuthedRequest, measure: MeasureRequest, fmt: str, rows: int, n: int
) -> None:
    options = exports.OutputOptions(format=fmt, patients=measure.patients)
    record(
        codes.MEASURE_REPORT,
        actor=request.user,
        request=request,
        details=exports.audit_details(measure, options, rows, n),
    )


# -- the outreach form ---------------------------------------------------------------------------


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
        data: FormData | None = None,
        *,
        initial: dict[str, object] | None = None,
        patients: Choices,
        clinicians: Choices | None,
    ) -> None:
        super().__init__(data, initial=initial)
        choices_of(self, "patients").choices = patients
        if clinicians is None:
            del self.fields["on_behalf_of"]
        else:
            choices_of(self, "on_behalf_of").choices = [("", "Nobody: I write myself"), *clinicians]

"""REST route of the Secure Messaging measure report: the same computation and the same output as
``carethread measure`` (docs/measures.md, "Entry points").

``GET /api/measures/report`` takes the report's options as query parameters; ``POST`` takes them
as a JSON body, which may also carry a low-broadband county list (the CSV text). Only practice
administrators may ask, and only for organisations they administer: with ``tin``, its
administrators; without it, the report covers the caller's organisation when they administer
exactly one. At level ``ep`` a row spans every organisation of its clinician, so a patient list
there needs the caller to administer all of them. Bad input is a 400 with the same message the
command line prints; nothing is computed for it. Every report served is recorded in the audit
trail (``measure.report``, counts only). The access decisions are ``carethread.measures.access``'s,
shared with the web dashboard.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from carethread.api.auth import caller
from carethread.api.schemas import Body, Error, Input, Invalid
from carethread.audit import codes
from carethread.audit.actions import record
from carethread.measures import access, engine, exports
from carethread.measures.access import CHOOSE_A_TIN, NOT_AN_ADMIN, SPANS_OTHER_PRACTICES
from carethread.measures.programs import PROGRAMS
from carethread.measures.request import MeasureInputError, RequestInput, parse

router = Router(tags=["measures"])

__all__ = ["CHOOSE_A_TIN", "NOT_AN_ADMIN", "SPANS_OTHER_PRACTICES", "router"]


# -- the options -------------------------------------------------------------------------------


class ReportQuery(Input):
    program: str = Field(
        ..., max_length=64, description=f"The program: one of {', '.join(PROGRAMS)}."
    )
    start: str = Field(..., max_length=32, description="First day, YYYY-MM-DD (inclusive).")
    end: str = Field(..., max_length=32, description="Last day, YYYY-MM-DD (inclusive).")
    level: str | None = Field(
        None,
        max_length=32,
        description="individual, group or ep (default: the program's level).",
    )
    tin: str | None = Field(
        None,
        max_length=64,
        description="The practice (TIN) to report on; may be left out by the administrator of "
        "exactly one practice.",
    )
    npi: str | None = Field(None, max_length=64, description="Only the rows of this NPI.")
    policy: list[str] = Field(
        default_factory=list,
        max_length=8,
        description="NAME=VALUE (repeatable): actors=clinician|delegate|practice, "
        "halo=true|false, exclude_pos=21,23|none, window=period|calendar-year.",
    )
    patients: bool = Field(False, description="List every denominator patient and why.")
    format: str = Field(
        "json",
        max_length=16,
        description="json (the reference), csv (entity rows, or patient rows with patients), "
        "or qpp (QPP submission JSON, MIPS programs only).",
    )
    cehrt_id: str | None = Field(
        None, max_length=64, description="The CMS EHR Certification ID, for format qpp."
    )


class ReportIn(ReportQuery, Body):
    low_broadband_counties: str | None = Field(
        None,
        max_length=1_000_000,
        description="A state,county CSV (the text) of counties lacking broadband.",
    )


# -- the answers (the report document of docs/measures.md) --------------------------------------


class PeriodOut(Schema):
    start: str
    end: str


class PolicyOut(Schema):
    actors: str
    halo: bool
    exclude_pos: list[str]
    window: str


class ThresholdOut(Schema):
    rate_gt: float | None = None
    numerator_gte: int | None = None


class ExclusionsOut(Schema):
    no_office_visits: bool | None
    broadband: bool | None


class WhatItTakesOut(Schema):
    goal: str
    points: int | None = None
    more_patients: int


class ReadingOut(Schema):
    actors: str
    halo: bool
    numerator: int | None
    denominator: int | None = None
    rate: float | None
    threshold: ThresholdOut | None = None
    met: bool | None
    points: int | None
    applied: bool


class PatientOut(Schema):
    patient: str
    in_numerator: bool
    reason: str
    evidence: list[str]
    portal: str


class ResultOut(Schema):
    tin: str | None
    npi: str | None
    numerator: int | None
    denominator: int | None
    rate: float | None
    value: bool | None = Field(None, description="mod2-2015 only: messaging enabled throughout.")
    threshold: ThresholdOut | None
    met: bool | None
    points: int | None
    exclusions: ExclusionsOut
    what_it_takes: WhatItTakesOut | None
    readings: list[ReadingOut]
    patients: list[PatientOut] | None = Field(None, description="Only when patients is true.")


class ReportOut(Schema):
    program: str
    measure_id: str | None
    period: PeriodOut
    level: str
    policy: PolicyOut
    warnings: list[str]
    results: list[ResultOut]


class QppValueOut(Schema):
    numerator: int
    denominator: int


class QppMeasurementOut(Schema):
    measureId: str  # QPP's field names
    value: QppValueOut


class QppMeasurementSetOut(Schema):
    category: str
    submissionMethod: str
    performanceStart: str
    performanceEnd: str
    cehrtId: str | None = None
    measurements: list[QppMeasurementOut]


class QppSubmissionOut(Schema):
    entityType: str
    taxpayerIdentificationNumber: str
    nationalProviderIdentifier: str | None = None
    performanceYear: int
    measurementSets: list[QppMeasurementSetOut]


ANSWERS: dict[int, object] = {
    200: ReportOut | list[QppSubmissionOut],
    400: Error,
    401: Error,
    403: Error,
    422: Invalid,
}
ACCESS = (
    "For practice administrators, about the practices they administer: with `tin`, that "
    "practice's administrators; without it, the caller's practice when they administer exactly "
    "one (else 400). At level `ep` each row spans every practice of its clinician: with "
    "`patients`, the caller must administer all of them (else 403). Bad input is a 400 with the "
    "message `carethread measure` prints (nothing is computed). The answer is the document of "
    "`carethread measure --format json`, the CSV of `--format csv` (text/csv) or the QPP "
    "submissions of `--format qpp` (a JSON array); it is never cached."
)
# format=csv answers text/csv.
CSV_ANSWER = {
    "responses": {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
}


# -- the route ---------------------------------------------------------------------------------


@router.get(
    "/measures/report",
    response=ANSWERS,
    summary="The Secure Messaging measure report (practice administrators)",
    description=ACCESS,
    openapi_extra=CSV_ANSWER,
)
def get_report(request: HttpRequest, query: ReportQuery = Query(...)) -> HttpResponse:  # noqa: B008
    return report(request, query, None)


@router.post(
    "/measures/report",
    response=ANSWERS,
    summary="The measure report, with a low-broadband county list (practice administrators)",
    description=ACCESS,
    openapi_extra=CSV_ANSWER,
)
def post_report(request: HttpRequest, payload: ReportIn) -> HttpResponse:
    return report(request, payload, payload.low_broadband_counties)


def report(request: HttpRequest, query: ReportQuery, counties: str | None) -> HttpResponse:
    user = caller(request)
    try:
        administered = access.require_admin(user)
    except access.Refused as refused:
        raise HttpError(refused.status, refused.message) from None
    try:
        measure = parse(
            RequestInput(
                program=query.program,
                start=query.start,
                end=query.end,
                level=query.level,
                tin=query.tin,
                npi=query.npi,
                policies=query.policy,
                low_broadband_csv=counties,
                patients=query.patients,
            )
        )
        options = exports.check_options(measure, query.format, query.cehrt_id)
    except MeasureInputError as exc:
        raise HttpError(400, str(exc)) from None
    try:
        measure = access.scoped(measure, administered)
        doc = engine.compute(measure)
        access.check_patient_lists(measure, doc, administered.values())
    except access.Refused as refused:
        raise HttpError(refused.status, refused.message) from None
    try:
        rendered = exports.render(doc, options)
    except MeasureInputError as exc:
        raise HttpError(400, str(exc)) from None
    record(
        codes.MEASURE_REPORT,
        actor=user,
        request=request,
        details=exports.audit_details(measure, options, rendered.rows, rendered.patients),
    )
    response = HttpResponse(rendered.text, content_type=rendered.content_type)
    response["Cache-Control"] = "no-store"
    if options.format == "csv":
        name = f"measure-{measure.program.id}-{measure.start}-{measure.end}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

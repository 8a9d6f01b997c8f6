"""``/api/measures/report``: practice administrators get the same report as ``carethread
measure``; everyone else is refused; bad input is a 400 with the command line's message."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, connections
from django.test import Client
from django.utils import timezone
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.world import answered_question, build_world, make_admin, practitioner

from carethread.api import actions as api_actions
from carethread.api import measures as measures_api
from carethread.api.measures import CHOOSE_A_TIN, NOT_AN_ADMIN, SPANS_OTHER_PRACTICES
from carethread.audit.models import AuditEvent
from carethread.cli import main
from carethread.core.models import Membership
from carethread.measures import engine, report
from carethread.wsgi import application

pytestmark = pytest.mark.django_db

URL = "/api/measures/report"
TIN, OTHER_TIN = "271234567", "271234568"
NPI = "1234567893"  # c1


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch):
    """A command run from the command line closes every database connection when it ends; in a
    test that is the connection holding the test's transaction (PostgreSQL): keep it open."""
    monkeypatch.setattr(connections, "close_all", lambda: None)


@pytest.fixture
def world(db):
    """build_world; c1 administers Riverside and answered the patient's question."""
    w = build_world()
    make_admin(w)
    answered_question(w)
    return w


@pytest.fixture
def period():
    today = timezone.localdate()
    return str(today - dt.timedelta(days=365)), str(today)


def token_client(user, **kwargs):
    _row, token = api_actions.create_token(user, "tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs)


def query(period, **extra):
    start, end = period
    return {"program": "pi-2018", "start": start, "end": end, **extra}


def cli(capsys, tmp_path, *args):
    output = tmp_path / "cli.out"
    assert main(["measure", *args, "--output", str(output)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return output.read_bytes().decode("utf-8")


def measure_events():
    return list(AuditEvent.objects.filter(action="measure.report").order_by("seq"))


# -- the owner's report equals the command line's ----------------------------------------------


def test_admin_gets_the_json_report_the_command_line_writes(world, period, capsys, tmp_path):
    response = token_client(world.c1.user).get(URL, query(period, tin=TIN, patients="true"))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    start, end = period
    expected = cli(
        capsys, tmp_path, "--program", "pi-2018", "--start", start, "--end", end,
        "--tin", TIN, "--patients",
    )  # fmt: skip
    assert response.content.decode() == expected
    doc = response.json()
    (row,) = [r for r in doc["results"] if r["npi"] == NPI]
    assert (row["numerator"], row["denominator"], row["points"]) == (1, 3, 4)
    assert [p["patient"] for p in row["patients"]] == ["RFM-1001", "RFM-1003", "RFM-1004"]
    event = measure_events()[0]
    assert event.actor_id == world.c1.user.pk
    assert event.details == {
        "program": "pi-2018",
        "level": "individual",
        "format": "json",
        "rows": len(doc["results"]),
        "patients": 3,
        "with_patients": True,
    }
    assert "RFM-" not in json.dumps(event.details) and event.patient_id is None


def test_without_tin_the_report_is_the_administered_practice(world, period):
    with_tin = token_client(world.c1.user).get(URL, query(period, tin=TIN))
    without = token_client(world.c1.user).get(URL, query(period))
    assert without.status_code == 200
    assert without.content == with_tin.content
    assert {r["tin"] for r in without.json()["results"]} == {TIN}


def test_csv_and_qpp_answers_match_the_command_line(world, period, capsys, tmp_path):
    start, end = period
    client = token_client(world.c1.user)
    args = ("--program", "pi-2018", "--start", start, "--end", end, "--tin", TIN)

    as_csv = client.get(URL, query(period, tin=TIN, patients="true", format="csv"))
    assert as_csv.status_code == 200
    assert as_csv["Content-Type"] == "text/csv; charset=utf-8"
    assert as_csv["Content-Disposition"].startswith('attachment; filename="measure-pi-2018-')
    assert as_csv["Cache-Control"] == "no-store"
    expected = cli(capsys, tmp_path, *args, "--patients", "--format", "csv")
    assert as_csv.content.decode() == expected
    rows = list(csv.DictReader(io.StringIO(expected, newline="")))
    assert [r["reason"] for r in rows] == ["clinician-replied", "no-message", "no-message"]

    as_qpp = client.get(URL, query(period, tin=TIN, npi=NPI, format="qpp"))
    assert as_qpp.status_code == 200
    assert as_qpp.content.decode() == cli(capsys, tmp_path, *args, "--npi", NPI, "--format", "qpp")
    (submission,) = as_qpp.json()
    assert submission["nationalProviderIdentifier"] == NPI
    assert submission["measurementSets"][0]["measurements"][0]["value"] == {
        "numerator": 1,
        "denominator": 3,
    }
    # One entry per answer, from the API and from the command line.
    answered = [e.details["format"] for e in measure_events() if e.actor_id == world.c1.user.pk]
    assert answered == ["csv", "qpp"]
    assert [e.actor_role for e in measure_events()] == ["practice", "operator"] * 2


def test_post_takes_a_low_broadband_county_list(world, period, capsys, tmp_path):
    world.office.state, world.office.county = "MA", "Middlesex"
    world.office.save()
    counties = "state,county\nMA,Middlesex County\n"
    response = token_client(world.c1.user).post(
        URL,
        {**query(period, program="stage3-2021", level="ep"), "low_broadband_counties": counties},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    (row,) = [r for r in response.json()["results"] if r["npi"] == NPI]
    assert row["exclusions"]["broadband"] is True
    county_file = tmp_path / "counties.csv"
    county_file.write_text(counties)
    start, end = period
    expected = cli(
        capsys, tmp_path, "--program", "stage3-2021", "--start", start, "--end", end,
        "--level", "ep", "--tin", TIN, "--low-broadband-counties", str(county_file),
    )  # fmt: skip
    assert response.content.decode() == expected


# -- who may ask -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["c2", "staff", "outsider"])
def test_practice_users_who_administer_nothing_are_refused(world, period, who):
    response = token_client(getattr(world, who).user).get(URL, query(period, tin=TIN))
    assert response.status_code == 403
    assert response.json() == {"detail": NOT_AN_ADMIN}
    assert not measure_events()


@pytest.mark.parametrize("who", ["patient", "rep"])
def test_patient_side_logins_are_refused(world, period, who):
    response = token_client(getattr(world, who).user).get(URL, query(period))
    assert response.status_code == 403
    assert response.json() == {"detail": NOT_AN_ADMIN}


def test_an_admin_of_another_practice_is_refused_that_practice(world, period):
    Membership.objects.filter(practitioner=world.outsider).update(is_admin=True)
    client = token_client(world.outsider.user)
    response = client.get(URL, query(period, tin=TIN))
    assert response.status_code == 403
    assert response.json() == {"detail": f"You do not administer the practice with TIN {TIN}."}
    # Their own practice, with or without its TIN: never Riverside's rows.
    own = client.get(URL, query(period))
    assert own.status_code == 200
    assert {r["tin"] for r in own.json()["results"]} <= {OTHER_TIN}
    assert TIN not in own.content.decode()


def test_an_admin_of_several_practices_must_choose_one(world, period):
    Membership.objects.create(
        practitioner=world.c1, organization=world.other_org, role="clinician", is_admin=True
    )
    client = token_client(world.c1.user)
    response = client.get(URL, query(period))
    assert response.status_code == 400
    assert response.json() == {"detail": CHOOSE_A_TIN}
    assert client.get(URL, query(period, tin=OTHER_TIN)).status_code == 200


def test_without_credentials_401(world, period):
    response = Client().get(URL, query(period))
    assert response.status_code == 401


def test_ep_patient_lists_need_every_practice_of_the_clinicians(world, period):
    # c1 also practises at Hillside, which the caller (c1, Riverside's admin) does not administer.
    Membership.objects.create(practitioner=world.c1, organization=world.other_org, role="clinician")
    client = token_client(world.c1.user)
    ep = query(period, program="stage3-2021", level="ep", tin=TIN)
    assert client.get(URL, ep).status_code == 200  # counts only: allowed
    refused = client.get(URL, {**ep, "patients": "true"})
    assert refused.status_code == 403
    assert refused.json() == {"detail": SPANS_OTHER_PRACTICES}
    assert "RFM-" not in refused.content.decode()
    assert len(measure_events()) == 1
    Membership.objects.filter(practitioner=world.c1, organization=world.other_org).update(
        is_admin=True
    )
    allowed = client.get(URL, {**ep, "patients": "true"})
    assert allowed.status_code == 200
    (row,) = allowed.json()["results"]
    assert row["npi"] == NPI and len(row["patients"]) == 3


def test_ep_patient_lists_within_the_callers_practice_are_allowed(world, period):
    response = token_client(world.c1.user).get(
        URL, query(period, program="mod2-2017", tin=TIN, patients="true")
    )
    assert response.status_code == 200
    assert response.json()["level"] == "ep"


# -- bad input -----------------------------------------------------------------------------------


@pytest.fixture
def no_compute(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("computed a report for bad input")

    monkeypatch.setattr(engine, "compute", refuse)


BAD = [
    ({"program": "pi-2099"}, "unknown program 'pi-2099'; known programs: mu2-2014"),
    (
        {"start": "2018-12-31", "end": "2018-01-01"},
        "the end date 2018-01-01 is before the start date 2018-12-31",
    ),
    ({"start": "2018-1-1"}, "start must be a date YYYY-MM-DD, not '2018-1-1'"),
    ({"tin": "999999999"}, "no organisation has TIN '999999999'"),
    ({"npi": "1111111112"}, "no practitioner has NPI '1111111112'"),
    ({"level": "clinic"}, "unknown level 'clinic'; levels: individual, group, ep"),
    ({"policy": ["actors=anyone"]}, "policy actors is one of clinician, delegate, practice"),
    ({"policy": ["halo=true", "halo=false"]}, "policy halo is given twice"),
    (
        {"program": "mod2-2016", "format": "qpp"},
        "QPP export is only for MIPS programs (aci-2017, aci-trans-2017, pi-2018, pi-trans-2018)",
    ),
    ({"format": "qpp", "level": "ep"}, "QPP has no submissions for eligible professionals"),
    ({"format": "pdf"}, "unknown format 'pdf'; formats: json, csv, qpp"),
]


@pytest.mark.parametrize(("params", "message"), BAD, ids=[m[:40] for _p, m in BAD])
def test_bad_input_is_400_with_the_command_lines_message(world, no_compute, params, message):
    base = {"program": "pi-2018", "start": "2018-01-01", "end": "2018-12-31"}
    client = token_client(world.c1.user)
    response = client.get(URL, {**base, **params})
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)
    posted = client.post(URL, {**base, **params}, content_type="application/json")
    assert posted.status_code == 400
    assert posted.json() == response.json()
    assert not measure_events()


@pytest.mark.parametrize(
    "counties", ["MA,Middlesex,extra\n", "Massachusetts,Middlesex\n", "state,county\n"]
)
def test_a_malformed_county_list_is_400(world, no_compute, counties):
    response = token_client(world.c1.user).post(
        URL,
        {
            "program": "stage3-2021",
            "start": "2021-01-01",
            "end": "2021-12-31",
            "low_broadband_counties": counties,
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("low-broadband county list")


def test_missing_or_ill_typed_parameters_are_422(world, no_compute):
    client = token_client(world.c1.user)
    assert client.get(URL, {"program": "pi-2018"}).status_code == 422
    response = client.get(
        URL, {"program": "pi-2018", "start": "2018-01-01", "end": "2018-12-31", "patients": "x"}
    )
    assert response.status_code == 422
    assert client.post(URL, "[]", content_type="application/json").status_code == 422


def test_the_check_for_a_non_admin_comes_before_input_checks(world, no_compute):
    response = token_client(world.c2.user).get(URL, {"program": "x", "start": "y", "end": "z"})
    assert response.status_code == 403


# -- session callers -----------------------------------------------------------------------------


def test_session_posts_need_the_csrf_token(world, period):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.c1.user)
    assert client.get(URL, query(period)).status_code == 200
    refused = client.post(URL, query(period), content_type="application/json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "CSRF check Failed"}
    client.get("/account/api-tokens")  # a page that sets the CSRF cookie
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    accepted = client.post(URL, query(period), content_type="application/json")
    assert accepted.status_code == 200
    assert len(measure_events()) == 2


# -- the answers are the ones the OpenAPI description declares -----------------------------------


@pytest.fixture
def in_process_requests(settings):
    """Requests sent straight to the WSGI application share the test's connection."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.parametrize(
    "extra",
    [
        {"patients": "true"},
        {"format": "csv"},
        {"format": "csv", "patients": "true"},
        {"format": "qpp", "cehrt_id": "0015H8ZK0ES2S3B"},
        {"program": "mod2-2015", "patients": "true"},
        {"program": "mu2-2014", "level": "group"},
        {"program": "nope"},
    ],
)
def test_answers_conform_to_the_openapi_description(world, period, in_process_requests, extra):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    operation = schema["/api/measures/report"]["GET"]
    _row, token = api_actions.create_token(world.c1.user, "conformance")
    case = operation.Case(query=query(period, **extra))
    headers = {"Authorization": f"Bearer {token}"}
    response = case.call(headers=headers)
    assert response.status_code == (400 if extra.get("program") == "nope" else 200)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
        headers=headers,
    )


def test_a_new_practice_user_without_admin_rights_is_refused(world, period):
    newcomer = practitioner(world.org, "new@riverside.example.org", "Novak")
    response = token_client(newcomer.user).get(URL, query(period, tin=TIN))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("answer", "shape"),
    [
        (measures_api.ReportOut, report.Report),
        (measures_api.PeriodOut, report.Period),
        (measures_api.PolicyOut, report.PolicyJson),
        (measures_api.ThresholdOut, report.ThresholdJson),
        (measures_api.ExclusionsOut, report.Exclusions),
        (measures_api.WhatItTakesOut, report.WhatItTakes),
        (measures_api.ReadingOut, report.Reading),
        (measures_api.PatientOut, report.PatientLine),
        (measures_api.ResultOut, report.ResultRow),
    ],
)
def test_the_openapi_answer_lists_the_keys_of_the_report(answer, shape):
    """The answer's description names exactly the keys of the report's shape (report.py)."""
    assert set(answer.model_fields) == shape.__required_keys__ | shape.__optional_keys__

"""Hostile input that once answered 500: lone surrogates and NUL characters in text, dates at the
ends of the calendar, long file names and broken multipart bodies. Each is a clear 4xx that names
what was wrong, and nothing is written.

The NUL cases only broke on PostgreSQL (SQLite stores a NUL); run this file there too.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from support.api import thread_body
from support.world import make_admin

from carethread.audit.models import AuditEvent
from carethread.messaging.models import Attachment, Draft, Message, OutOfOffice, Template, Thread

pytestmark = pytest.mark.django_db

SURROGATE = "\ud800"
NUL = "\x00"
FAR_FUTURE = "9999-12-31T23:59:59-23:59"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n%%EOF\n"


def counts():
    return {
        "threads": Thread.objects.count(),
        "messages": Message.objects.count(),
        "drafts": Draft.objects.count(),
        "templates": Template.objects.count(),
        "absences": OutOfOffice.objects.count(),
        "attachments": Attachment.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def post_json(client, path, data, method="post"):
    return getattr(client, method)(path, data, content_type="application/json")


def assert_names_field(response, field, status=422):
    """A JSON refusal whose error points at ``field`` (and never echoes the value)."""
    assert response.status_code == status, response.content
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    assert any(error["loc"][-1] == field for error in detail), detail
    assert "input" not in str(detail)


# -- text: lone surrogates and NUL ---------------------------------------------------------------


@pytest.mark.parametrize("field", ["subject", "body"])
@pytest.mark.parametrize("bad", [SURROGATE, NUL, "bell\x07"])
def test_bad_characters_in_a_new_thread_are_422(world, patient_client, field, bad):
    before = counts()
    response = post_json(
        patient_client, "/api/threads", thread_body(world, **{field: f"Hi {bad} there"})
    )
    assert_names_field(response, field)
    assert counts() == before


@pytest.mark.parametrize("bad", [SURROGATE, NUL])
def test_bad_characters_in_a_reply_are_422(world, patient_client, thread, bad):
    before = counts()
    response = post_json(
        patient_client, f"/api/threads/{thread.uuid}/messages", {"body": f"x{bad}"}
    )
    assert_names_field(response, "body")
    assert counts() == before


@pytest.mark.parametrize("field", ["subject", "body"])
@pytest.mark.parametrize("bad", [SURROGATE, NUL])
def test_bad_characters_in_a_draft_are_422(world, patient_client, field, bad):
    before = counts()
    body = {"patient": str(world.patient.uuid), field: f"draft {bad}"}
    assert_names_field(post_json(patient_client, "/api/drafts", body), field)
    assert counts() == before


def test_tabs_and_newlines_are_still_text(world, patient_client, thread):
    response = post_json(
        patient_client, f"/api/threads/{thread.uuid}/messages", {"body": "line one\r\n\tline two"}
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_bad_characters_in_a_template_name_are_422(world, clinician_client, bad):
    make_admin(world)
    before = counts()
    body = {"organization": str(world.org.uuid), "name": f"Refill {bad}", "body": "Hello"}
    assert_names_field(post_json(clinician_client, "/api/templates", body), "name")
    assert counts() == before


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_bad_characters_in_out_of_office_text_are_422(world, clinician_client, bad):
    before = counts()
    now = dt.datetime.now(dt.UTC)
    body = {
        "starts_at": now.isoformat(),
        "ends_at": (now + dt.timedelta(days=3)).isoformat(),
        "reply_text": f"Away {bad}",
    }
    assert_names_field(
        post_json(clinician_client, "/api/me/out-of-office", body, "put"), "reply_text"
    )
    assert counts() == before


# -- dates at the ends of the calendar -----------------------------------------------------------


def test_far_future_before_on_the_practice_inbox_is_400(world, clinician_client):
    response = clinician_client.get("/messages/", {"before": FAR_FUTURE})
    assert response.status_code == 400
    assert b"before" in response.content


def test_far_future_before_on_the_patient_inbox_is_400(world, patient_client):
    response = patient_client.get("/messages/", {"before": FAR_FUTURE})
    assert response.status_code == 400


def test_far_future_before_on_the_patient_record_is_400(world, clinician_client):
    response = clinician_client.get(
        f"/patients/{world.patient.uuid}/messages", {"before": FAR_FUTURE}
    )
    assert response.status_code == 400


def test_far_future_before_on_the_api_inbox_is_422(world, patient_client):
    assert_names_field(patient_client.get("/api/threads", {"before": FAR_FUTURE}), "before")


def test_a_report_over_the_whole_calendar_is_400(world, clinician_client):
    make_admin(world)
    before = AuditEvent.objects.count()
    response = clinician_client.get(
        "/api/measures/report",
        {"program": "pi-2018", "start": "0001-01-01", "end": "9999-12-31", "tin": world.org.tin},
    )
    assert response.status_code == 400, response.content
    assert "start" in response.json()["detail"] or "end" in response.json()["detail"]
    assert AuditEvent.objects.count() == before


def test_a_nul_tin_is_4xx(world, clinician_client):
    make_admin(world)
    response = clinician_client.get(
        "/api/measures/report?program=pi-2018&start=2018-01-01&end=2018-12-31&tin=%00"
    )
    assert 400 <= response.status_code < 500, response.content


@pytest.mark.parametrize("path", ["/messages/", "/practice/measures", "/api/threads"])
def test_a_nul_anywhere_in_a_query_string_is_400(world, clinician_client, path):
    make_admin(world)
    assert clinician_client.get(path + "?box=mine&x%00y=1").status_code == 400
    assert clinician_client.get(path + "?box=%00").status_code == 400


# -- uploads ---------------------------------------------------------------------------------------


def multipart(filename: str, data: bytes = PDF, field: str = "file") -> tuple[bytes, str]:
    """A multipart body with one file, written by hand (Django's test client would cut the
    name to 255 characters)."""
    boundary = "hostileboundary"
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("name", ["a" * 996 + ".pdf", "report." + "b" * 993])
def test_a_thousand_character_file_name_is_400_on_the_api(world, patient_client, name):
    before = counts()
    body, content_type = multipart(name)
    response = patient_client.post("/api/attachments", body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert "file name" in response.json()["detail"]
    assert counts() == before


def test_a_long_file_name_that_fits_is_cut_short(world, patient_client):
    body, content_type = multipart("a" * 296 + ".pdf")
    response = patient_client.post("/api/attachments", body, content_type=content_type)
    assert response.status_code == 201, response.content
    stored = response.json()["filename"]
    assert stored.endswith(".pdf") and len(stored) <= 120


@pytest.mark.parametrize("name", ["scan." + "b" * 300, "c" * 400 + ".pdf"])
def test_a_large_upload_with_a_long_name_is_stored_under_a_short_one(world, patient_client, name):
    """Past 2.5 MB an upload goes to a temporary file named after the client's extension."""
    body, content_type = multipart(name, PDF + b"0" * 3_000_000)
    response = patient_client.post("/api/attachments", body, content_type=content_type)
    assert response.status_code == 201, response.content
    stored = response.json()["filename"]
    assert stored.endswith(".pdf") and len(stored) <= 120
    page_body, content_type = multipart(name, PDF + b"0" * 3_000_000, field="attachments")
    before = counts()
    response = patient_client.post("/messages/new", page_body, content_type=content_type)
    assert response.status_code == 400  # the form has no recipient: nothing is sent
    assert counts()["messages"] == before["messages"]


def test_a_thousand_character_file_name_is_400_on_a_page(world, patient_client):
    before = counts()
    body, content_type = multipart("a" * 996 + ".pdf", field="attachments")
    response = patient_client.post("/messages/new", body, content_type=content_type)
    assert response.status_code == 400
    assert b"Traceback" not in response.content
    assert counts() == before


def test_multipart_without_a_boundary_is_400_on_the_api(world, patient_client):
    before = counts()
    response = patient_client.post(
        "/api/attachments", b"--x\r\n\r\n", content_type="multipart/form-data"
    )
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    assert counts() == before


@pytest.mark.parametrize("path", ["/messages/new", "/messages/find-patient"])
@pytest.mark.parametrize("csrf", [False, True])
def test_multipart_without_a_boundary_is_400_on_a_page(world, path, csrf):
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(world.patient.user)
    before = counts()
    response = client.post(path, b"--x\r\n\r\n", content_type="multipart/form-data")
    assert response.status_code == 400
    assert b"Traceback" not in response.content
    assert counts() == before


# -- the rule covers every route ---------------------------------------------------------------

# Plain strings a route reads outside a schema, and what checks them.
PLAIN_STRINGS = {
    ("HeaderParams", "idempotency_key"): "1-64 printable ASCII characters (the route)",
    ("HeaderParams", "if_match"): "a version number (the route)",
    ("PathParams", "category"): "one of the categories (the route); a NUL in a path is a 400",
}


def test_every_api_input_is_checked_text():
    """Every schema a route reads is an ``Input`` (the text rule applies to all its strings);
    a plain string parameter outside a schema is a known one."""
    from pydantic import BaseModel

    from carethread.api.api import api
    from carethread.api.schemas import Input

    unchecked = []
    for _prefix, router in api._routers:
        for path, path_operation in router.path_operations.items():
            for operation in path_operation.operations:
                for model in operation.models:
                    for name, info in model.model_fields.items():
                        kind = info.annotation
                        if isinstance(kind, type) and issubclass(kind, BaseModel):
                            if not issubclass(kind, Input):
                                unchecked.append((path, name, kind.__name__))
                        elif "str" in str(kind) and (model.__name__, name) not in PLAIN_STRINGS:
                            unchecked.append((path, name, str(kind)))
    assert unchecked == []


def test_the_text_rule():
    from carethread.core.text import text_problem

    for fine in ["", "plain", "tab\tnew\nline\r\n", "émoji 🩺", "zero\u200bwidth", "\ufffd"]:
        assert text_problem(fine) is None, repr(fine)
    for bad in ["\x00", "a\x01", "\x1b[31m", "\x0b", "\x0c", "\ud800", "x\udfff"]:
        assert text_problem(bad) is not None, repr(bad)


def test_the_date_range():
    from carethread.core.validators import check_instant, parse_day

    assert parse_day("2018-06-30") == dt.date(2018, 6, 30)
    assert check_instant(
        dt.datetime(2199, 12, 31, 23, 59, tzinfo=dt.timezone(-dt.timedelta(hours=23, minutes=59)))
    )
    for bad in ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01", "2018-02-30", "18-1-1"]:
        with pytest.raises(ValueError):
            parse_day(bad)


def test_every_form_of_ours_carries_the_input_checks():
    """Every Django form the project defines derives from ``CheckedForm`` (the text rule on its
    text fields, the date range on its date fields)."""
    from django import forms
    from django.urls import get_resolver

    from carethread.core.forms import CheckedForm

    get_resolver().url_patterns  # imports every view, hence every form  # noqa: B018

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = {c for c in subclasses(forms.BaseForm) if c.__module__.startswith("carethread.")}
    assert len(ours) >= 15
    assert sorted(c.__qualname__ for c in ours if not issubclass(c, CheckedForm)) == []

"""A representative's authorisation period as FHIR writes it (Period: "the end value includes
any matching date/time"): a date-only end covers its whole local day, a year or month end its
whole local year or month, and a partial start begins at its first local instant."""

from __future__ import annotations

import pytest

from tests.measures.scenario import clinic, local, measure, row, why

pytestmark = pytest.mark.django_db


def year_report():
    return measure("pi-2018", "2018-01-01", "2018-12-31")


def test_a_date_only_end_covers_the_representatives_last_day():
    """Mum is authorised until 2018-06-30 (a date). Dr A's message to her at 14:00 local that
    day reaches Pat; the same message to Kim's dad (same end) at 00:00 local the next day
    does not."""
    s = clinic()
    s.patient("kim", "riverside")
    for patient in ("pat", "kim"):
        s.visit("drA", patient, "2018-03-02", location="office")
    s.representative("mum", "pat", start="2010-01-01", end="2018-06-30")
    s.representative("dad", "kim", start="2010-01-01", end="2018-06-30")
    s.message("last-day", "drA", to=["mum"], on=local("2018-06-30", "14:00:00"))
    s.message("day-after", "drA", to=["dad"], on=local("2018-07-01", "00:00:00"))
    s.load()
    doc = year_report()
    assert why(doc, "PAT", npi=s.npi("drA")) == (True, "clinician-sent", ["last-day"])
    assert why(doc, "KIM", npi=s.npi("drA")) == (False, "no-message", [])
    assert row(doc, npi=s.npi("drA"))["numerator"] == 1


def test_the_last_second_of_the_end_day_is_still_covered():
    s = clinic()
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.representative("mum", "pat", start="2010-01-01", end="2018-06-30")
    s.message("late", "drA", to=["mum"], on=local("2018-06-30", "23:59:59"))
    s.load()
    assert why(year_report(), "PAT", npi=s.npi("drA")) == (True, "clinician-sent", ["late"])


def test_year_and_month_bounds_cover_their_whole_local_period():
    """Pat's mum: from 2018-06 to 2018-06 (all of June). Kim's dad: from 2018 to 2018. Lee's
    aunt ended 2018-05 (all of May, not June)."""
    s = clinic()
    for patient in ("kim", "lee"):
        s.patient(patient, "riverside")
    for patient in ("pat", "kim", "lee"):
        s.visit("drA", patient, "2018-03-02", location="office")
    s.representative("mum", "pat", start="2018-06", end="2018-06")
    s.representative("dad", "kim", start="2018", end="2018")
    s.representative("aunt", "lee", start="2018", end="2018-05")
    s.message("june-first", "drA", to=["mum"], on=local("2018-06-01", "00:00:00"))
    s.message("june-last", "drA", to=["mum"], on=local("2018-06-30", "23:00:00"))
    s.message("new-year-eve", "drA", to=["dad"], on=local("2018-12-31", "22:00:00"))
    s.message("june", "drA", to=["aunt"], on=local("2018-06-01", "00:00:00"))
    s.load()
    doc = year_report()
    assert why(doc, "PAT", npi=s.npi("drA")) == (
        True,
        "clinician-sent",
        ["june-first", "june-last"],
    )
    assert why(doc, "KIM", npi=s.npi("drA")) == (True, "clinician-sent", ["new-year-eve"])
    assert why(doc, "LEE", npi=s.npi("drA")) == (False, "no-message", [])


def test_a_date_only_start_begins_at_the_first_local_instant_of_its_day():
    s = clinic()
    s.patient("kim", "riverside")
    for patient in ("pat", "kim"):
        s.visit("drA", patient, "2018-03-02", location="office")
    s.representative("mum", "pat", start="2018-06-30")
    s.representative("dad", "kim", start="2018-06-30")
    s.message("midnight", "drA", to=["mum"], on=local("2018-06-30", "00:00:00"))
    s.message("eve", "drA", to=["dad"], on=local("2018-06-29", "23:59:59"))
    s.load()
    doc = year_report()
    assert why(doc, "PAT", npi=s.npi("drA")) == (True, "clinician-sent", ["midnight"])
    assert why(doc, "KIM", npi=s.npi("drA")) == (False, "no-message", [])

"""Who a result row is for (docs/measures.md, "Entities"): individual (TIN, NPI)
rows, group (TIN) rows with de-duplicated patients, ep (NPI) rows across organisations, the
transitivity of a clinician's actions across their TINs, filters and sorting."""

from __future__ import annotations

import pytest

from carethread.messaging.models import Message
from tests.measures.scenario import (
    Scenario,
    clinic,
    denominator,
    measure,
    numerator,
    row,
    why,
)

pytestmark = pytest.mark.django_db

RIVERSIDE_TIN = "271234599"
LAKESIDE_TIN = "271234511"


def year_report(program: str = "pi-2018", **options):
    year = {"pi-2018": 2018, "stage3-2018": 2018}[program]
    return measure(program, f"{year}-01-01", f"{year}-12-31", **options)


def two_practices() -> Scenario:
    """Riverside and Lakeside (Lakeside has the smaller TIN). Dr A is at Riverside, Dr B at both,
    the locum Dr L belongs to no practice, staff Sam to Riverside; Front Office is a practice
    with staff only. NPIs are given out of creation order."""
    s = Scenario()
    s.practice("riverside", RIVERSIDE_TIN)
    s.practice("lakeside", LAKESIDE_TIN)
    s.practice("front-office", "271234577")
    s.clinician("drB", "riverside", "lakeside", npi="100000300")
    s.clinician("drA", "riverside", npi="100000200")
    s.clinician("drL", npi="100000100")
    s.staff("sam", "riverside")
    s.staff("fay", "front-office")
    return s


def keys(doc) -> list[tuple[str | None, str | None]]:
    return [(r["tin"], r["npi"]) for r in doc["results"]]


# -- individual -----------------------------------------------------------------------------------


def test_individual_rows_are_memberships_and_encounter_pairs_sorted_by_tin_then_npi():
    s = two_practices()
    s.patient("pat", "riverside")
    s.visit("drL", "pat", "2018-03-02", at="riverside")  # the locum saw a patient at Riverside
    s.load()
    doc = year_report(patients=False)
    a, b, locum = s.npi("drA"), s.npi("drB"), s.npi("drL")
    assert keys(doc) == [
        (LAKESIDE_TIN, b),
        (RIVERSIDE_TIN, locum),
        (RIVERSIDE_TIN, a),
        (RIVERSIDE_TIN, b),
    ]
    assert locum < a < b
    assert row(doc, tin=RIVERSIDE_TIN, npi=locum)["denominator"] == 1
    assert row(doc, tin=RIVERSIDE_TIN, npi=a)["exclusions"]["no_office_visits"] is True


def test_individual_denominator_is_the_visits_of_that_tin():
    """Dr B saw Pat at Riverside and Kim at Lakeside: each TIN's row has its own patient."""
    s = two_practices()
    s.patient("pat", "riverside")
    s.patient("kim", "lakeside")
    s.visit("drB", "pat", "2018-03-02", at="riverside")
    s.visit("drB", "kim", "2018-03-02", at="lakeside")
    s.load()
    doc = year_report()
    assert denominator(row(doc, tin=RIVERSIDE_TIN, npi=s.npi("drB"))) == ["PAT"]
    assert denominator(row(doc, tin=LAKESIDE_TIN, npi=s.npi("drB"))) == ["KIM"]


def test_patients_are_sorted_by_mrn():
    s = clinic()
    for key, mrn in [("zed", "Z-100"), ("amy", "A-300"), ("mid", "M-200")]:
        s.patient(key, "riverside", mrn=mrn)
        s.visit("drA", key, "2018-03-02", location="office")
    s.load()
    assert denominator(row(year_report(), npi=s.npi("drA"))) == ["A-300", "M-200", "Z-100"]


def test_a_clinicians_message_counts_at_every_tin_they_belong_to():
    """Dr B saw Pat at Riverside in 2017 and at Lakeside in June 2018; in March 2018 Dr B
    wrote to Pat in the thread held by Riverside. It counts for Dr B's Lakeside row."""
    s = two_practices()
    s.patient("pat")
    s.visit("drB", "pat", "2017-12-01", at="riverside")
    s.visit("drB", "pat", "2018-06-01", at="lakeside")
    s.message("m1", "drB", to=["pat"], on="2018-03-01")
    s.load()
    assert Message.objects.get(identifier="m1").thread.organization.tin == RIVERSIDE_TIN
    doc = year_report()
    assert why(doc, "PAT", tin=LAKESIDE_TIN, npi=s.npi("drB")) == (True, "clinician-sent", ["m1"])
    assert denominator(row(doc, tin=RIVERSIDE_TIN, npi=s.npi("drB"))) == []
    group = year_report(level="group")
    assert why(group, "PAT", tin=LAKESIDE_TIN) == (True, "clinician-sent", ["m1"])


def test_halo_reaches_a_colleague_who_also_practises_elsewhere():
    """Dr A saw Pat at Riverside; Dr B (Riverside and Lakeside) wrote in a Lakeside thread.
    With the halo Dr B counts as a clinician of Dr A's Riverside row."""
    s = two_practices()
    s.patient("pat")
    s.visit("drB", "pat", "2018-01-10", at="lakeside")
    s.visit("drA", "pat", "2018-03-02", at="riverside")
    s.message("m1", "drB", to=["pat"], on="2018-02-01")
    s.load()
    assert Message.objects.get(identifier="m1").thread.organization.tin == LAKESIDE_TIN
    npi = s.npi("drA")
    off, on = year_report(), year_report(policies=["halo=true"])
    assert why(off, "PAT", tin=RIVERSIDE_TIN, npi=npi) == (False, "sent-by-other-clinician", ["m1"])
    assert why(on, "PAT", tin=RIVERSIDE_TIN, npi=npi) == (True, "practice-sent", ["m1"])


# -- group ----------------------------------------------------------------------------------------


def test_group_counts_a_patient_seen_by_three_clinicians_once():
    s = clinic()
    s.clinician("drC", "riverside")
    s.clinician("drD", "riverside")
    s.patient("kim", "riverside")
    s.visit("drA", "pat", "2018-02-01", location="office")
    s.visit("drB", "pat", "2018-03-01", location="office")
    s.visit("drC", "pat", "2018-04-01", location="office")
    s.visit("drA", "kim", "2018-04-01", location="office")
    s.message("d1", "drD", to=["pat"], on="2018-05-01")  # Dr D never saw Pat
    s.message("a1", "drA", to=["kim"], on="2018-05-01")
    s.message("b1", "drB", to=["kim"], on="2018-05-02")
    s.load()
    doc = year_report(level="group")
    assert doc["level"] == "group"
    group = row(doc, tin=s.tin("riverside"))
    assert group["npi"] is None
    assert (group["numerator"], group["denominator"], group["rate"]) == (2, 2, 1.0)
    assert why(doc, "PAT", tin=s.tin("riverside")) == (True, "clinician-sent", ["d1"])
    assert why(doc, "KIM", tin=s.tin("riverside")) == (True, "clinician-sent", ["a1", "b1"])
    individual = year_report()
    assert sum(r["denominator"] for r in individual["results"]) == 4


def test_group_rows_are_the_practices_that_have_a_clinician():
    s = two_practices()
    s.load()
    doc = year_report(level="group", patients=False)
    assert keys(doc) == [(LAKESIDE_TIN, None), (RIVERSIDE_TIN, None)]


def test_group_numerator_follows_the_actors_policy():
    s = clinic()
    s.visit("drA", "pat", "2018-02-01", location="office")
    s.message("x1", "sam", to=["pat"], on="2018-05-01")
    s.load()
    tin = s.tin("riverside")
    assert why(year_report(level="group"), "PAT", tin=tin) == (False, "sent-by-staff", ["x1"])
    practice = year_report(level="group", policies=["actors=practice"])
    assert why(practice, "PAT", tin=tin) == (True, "practice-sent", ["x1"])


# -- ep -------------------------------------------------------------------------------------------


def test_ep_row_spans_every_organisation_of_the_clinician():
    s = two_practices()
    s.patient("pat", "riverside")
    s.patient("kim", "lakeside")
    s.patient("lee", "lakeside")
    s.visit("drB", "pat", "2018-03-02", at="riverside")
    s.visit("drB", "kim", "2018-03-02", at="lakeside")
    s.visit("drB", "lee", "2018-03-02", at="lakeside")
    s.message("m1", "drB", to=["kim"], on="2018-04-01")
    s.load()
    doc = year_report("stage3-2018")
    assert doc["level"] == "ep"
    mine = row(doc, npi=s.npi("drB"))
    assert mine["tin"] is None
    assert denominator(mine) == ["KIM", "LEE", "PAT"]
    assert numerator(mine) == ["KIM"]
    assert (mine["numerator"], mine["denominator"], mine["met"]) == (1, 3, True)
    # One row per NPI (the locum has no membership and no visit: no row).
    assert keys(doc) == [(None, s.npi("drA")), (None, s.npi("drB"))]


def test_ep_rows_include_a_clinician_known_only_from_encounters():
    s = two_practices()
    s.patient("pat", "riverside")
    s.visit("drL", "pat", "2018-03-02", at="riverside")
    s.load()
    doc = year_report("stage3-2018", patients=False)
    assert keys(doc) == [(None, s.npi("drL")), (None, s.npi("drA")), (None, s.npi("drB"))]


# -- filters --------------------------------------------------------------------------------------


def test_tin_and_npi_filters_select_rows_computed_from_all_data():
    s = two_practices()
    s.patient("pat", "riverside")
    s.patient("kim", "lakeside")
    s.visit("drB", "pat", "2018-03-02", at="riverside")
    s.visit("drB", "kim", "2018-03-02", at="lakeside")
    s.visit("drA", "pat", "2018-03-02", at="riverside")
    s.load()
    a, b = s.npi("drA"), s.npi("drB")
    assert keys(year_report(tin=LAKESIDE_TIN)) == [(LAKESIDE_TIN, b)]
    assert keys(year_report(npi=b)) == [(LAKESIDE_TIN, b), (RIVERSIDE_TIN, b)]
    # ep: the NPIs of Lakeside, each still over all its organisations.
    ep = year_report("stage3-2018", tin=LAKESIDE_TIN)
    assert keys(ep) == [(None, b)]
    assert denominator(row(ep, npi=b)) == ["KIM", "PAT"]
    # group: the TINs Dr B belongs to.
    group = year_report(level="group", npi=b)
    assert keys(group) == [(LAKESIDE_TIN, None), (RIVERSIDE_TIN, None)]
    assert keys(year_report(level="group", npi=a)) == [(RIVERSIDE_TIN, None)]


def test_any_program_can_be_computed_at_any_level():
    s = clinic()
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.message("m1", "drA", to=["pat"], on="2018-03-05")
    s.load()
    individual = year_report("stage3-2018", level="individual")
    assert keys(individual) == [
        (s.tin("riverside"), s.npi("drA")),
        (s.tin("riverside"), s.npi("drB")),
    ]
    assert row(individual, npi=s.npi("drA"))["met"] is True
    group = year_report("stage3-2018", level="group")
    assert why(group, "PAT", tin=s.tin("riverside")) == (True, "clinician-sent", ["m1"])


def test_a_visiting_clinician_is_a_clinician_of_the_practice_for_group_and_halo_alike():
    """Dr V (a member of Lakeside only) saw Kim at Riverside, and wrote to Pat, whom Dr A saw
    there. Riverside's group counts the message; so does Dr A's row with the halo, whether or
    not the report is filtered to Dr A."""
    s = two_practices()
    s.clinician("drV", "lakeside", npi="100000400")
    s.patient("pat")
    s.patient("kim")
    s.visit("drA", "pat", "2018-03-02", at="riverside")
    s.visit("drV", "kim", "2018-03-05", at="riverside")
    s.message("v1", "drV", to=["pat"], on="2018-04-01")
    s.load()
    npi = s.npi("drA")
    group = year_report(level="group")
    assert why(group, "PAT", tin=RIVERSIDE_TIN) == (True, "clinician-sent", ["v1"])
    for options in ({}, {"npi": npi}):
        on = year_report(policies=["halo=true"], **options)
        assert why(on, "PAT", tin=RIVERSIDE_TIN, npi=npi) == (True, "practice-sent", ["v1"])
    off = year_report()
    assert why(off, "PAT", tin=RIVERSIDE_TIN, npi=npi) == (
        False,
        "sent-by-other-clinician",
        ["v1"],
    )

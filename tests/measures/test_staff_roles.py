"""The role code decides who is measured (docs/import.md, "Mapping"): a practitioner whose role at a
practice is ``staff`` is non-provider staff there, whatever NPI they hold — no row of their own,
their visits put nobody in a denominator, their messages are ``sent-by-staff``. Only a
practitioner with *no* role at a practice who saw patients there is one of its (visiting)
clinicians. Both readings at every level, with the halo off and on."""

from __future__ import annotations

import pytest

from tests.measures.scenario import Scenario, denominator, measure, row, why

pytestmark = pytest.mark.django_db

RIVERSIDE_TIN = "271234599"
LAKESIDE_TIN = "271234511"
HALO = [pytest.param(False, id="halo-off"), pytest.param(True, id="halo-on")]


def report(level: str, halo: bool, *more: str, **options):
    program = "stage3-2018" if level == "ep" else "pi-2018"
    policies = [f"halo={'true' if halo else 'false'}", *more]
    return measure(program, "2018-01-01", "2018-12-31", level=level, policies=policies, **options)


def npis(doc) -> set[str | None]:
    return {r["npi"] for r in doc["results"]}


def practices() -> Scenario:
    """Riverside (Dr A) and Lakeside (Dr C)."""
    s = Scenario()
    s.practice("riverside", RIVERSIDE_TIN)
    s.practice("lakeside", LAKESIDE_TIN)
    s.clinician("drA", "riverside", npi="100000200")
    s.clinician("drC", "lakeside", npi="100000300")
    return s


def staff_with_an_npi() -> Scenario:
    """Nurse Nia, staff at Riverside with an NPI, saw Pat with Dr A and Kim alone, and wrote
    to Pat."""
    s = practices()
    s.staff("nia", "riverside", npi="100000400")
    s.patient("pat", "riverside")
    s.patient("kim", "riverside")
    s.visit(["drA", "nia"], "pat", "2018-03-02", at="riverside")
    s.visit("nia", "kim", "2018-03-05", at="riverside")
    s.message("n1", "nia", to=["pat"], on="2018-04-01")
    return s.load()


@pytest.mark.parametrize("halo", HALO)
def test_staff_with_an_npi_have_no_row_and_their_messages_are_sent_by_staff(halo):
    s = staff_with_an_npi()
    a, nia = s.npi("drA"), s.npi("nia")

    individual = report("individual", halo)
    assert nia not in npis(individual)
    assert denominator(row(individual, tin=RIVERSIDE_TIN, npi=a)) == ["PAT"]
    assert why(individual, "PAT", tin=RIVERSIDE_TIN, npi=a) == (False, "sent-by-staff", ["n1"])
    assert report("individual", halo, npi=nia)["results"] == []

    group = report("group", halo)
    assert denominator(row(group, tin=RIVERSIDE_TIN)) == ["PAT"]  # not Kim: only Nia saw her
    assert why(group, "PAT", tin=RIVERSIDE_TIN) == (False, "sent-by-staff", ["n1"])

    ep = report("ep", halo)
    assert nia not in npis(ep)
    assert denominator(row(ep, npi=a)) == ["PAT"]
    assert why(ep, "PAT", npi=a) == (False, "sent-by-staff", ["n1"])


@pytest.mark.parametrize("halo", HALO)
def test_staff_with_an_npi_are_still_credited_as_practice_users(halo):
    s = staff_with_an_npi()
    a = s.npi("drA")
    for level, key in (("individual", {"npi": a}), ("group", {"tin": RIVERSIDE_TIN})):
        doc = report(level, halo, "actors=practice")
        assert why(doc, "PAT", **key) == (True, "practice-sent", ["n1"])
    ep = report("ep", halo, "actors=practice")
    assert why(ep, "PAT", npi=a) == (True, "practice-sent", ["n1"])


def visiting_staff() -> Scenario:
    """Nurse Nia, staff at Lakeside with an NPI and no role at Riverside, saw Kim at Riverside
    (a visiting clinician there), Max alone and Lee with Dr C at Lakeside (as staff), and wrote
    to Pat, whom Dr A saw at Riverside. Dr C wrote to Kim."""
    s = practices()
    s.staff("nia", "lakeside", npi="100000400")
    s.patient("pat", "riverside")
    s.patient("kim", "riverside")
    s.patient("max", "lakeside")
    s.patient("lee", "lakeside")
    s.visit("drA", "pat", "2018-03-02", at="riverside")
    s.visit("nia", "kim", "2018-03-05", at="riverside")
    s.visit("nia", "max", "2018-03-06", at="lakeside")
    s.visit(["drC", "nia"], "lee", "2018-03-07", at="lakeside")
    s.message("v1", "nia", to=["pat"], on="2018-04-01")
    s.message("c1", "drC", to=["kim"], on="2018-04-02")
    return s.load()


@pytest.mark.parametrize("halo", HALO)
def test_without_a_role_at_a_practice_a_visitor_with_an_npi_is_one_of_its_clinicians(halo):
    s = visiting_staff()
    a, c, nia = s.npi("drA"), s.npi("drC"), s.npi("nia")

    individual = report("individual", halo)
    assert denominator(row(individual, tin=RIVERSIDE_TIN, npi=nia)) == ["KIM"]
    assert [r for r in individual["results"] if r["tin"] == LAKESIDE_TIN and r["npi"] == nia] == []
    assert denominator(row(individual, tin=LAKESIDE_TIN, npi=c)) == ["LEE"]
    assert why(individual, "PAT", tin=RIVERSIDE_TIN, npi=a) == (
        (True, "practice-sent", ["v1"]) if halo else (False, "sent-by-other-clinician", ["v1"])
    )

    group = report("group", halo)
    assert denominator(row(group, tin=RIVERSIDE_TIN)) == ["KIM", "PAT"]
    assert why(group, "PAT", tin=RIVERSIDE_TIN) == (True, "clinician-sent", ["v1"])
    assert denominator(row(group, tin=LAKESIDE_TIN)) == ["LEE"]  # not Max: Nia is staff there

    ep = report("ep", halo)
    # Nia's EP row: Riverside, where she saw Kim as a clinician; not Lakeside, where she is
    # staff (so Dr C of Lakeside is no colleague of hers for the halo).
    assert denominator(row(ep, npi=nia)) == ["KIM"]
    assert why(ep, "KIM", npi=nia) == (False, "sent-by-other-clinician", ["c1"])
    assert why(ep, "PAT", npi=a) == (
        (True, "practice-sent", ["v1"]) if halo else (False, "sent-by-other-clinician", ["v1"])
    )

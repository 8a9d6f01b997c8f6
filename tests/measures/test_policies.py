"""The policies (docs/measures.md, "Numerator", "What it takes, and the other
readings"): who may act for a clinician (``actors``), the halo, excluded places of service and
the numerator window. Each is echoed in the document's ``policy``."""

from __future__ import annotations

import pytest

from carethread.messaging import actions
from tests.measures.scenario import (
    WORLD_C1_NPI,
    WORLD_TIN,
    clinic,
    denominator,
    live_measure,
    measure,
    numerator,
    reading,
    row,
    why,
)

pytestmark = pytest.mark.django_db

COMBINATIONS = [(a, h) for a in ("clinician", "delegate", "practice") for h in (False, True)]


def year_report(*policies: str, **options):
    return measure("pi-2018", "2018-01-01", "2018-12-31", policies=policies, **options)


def policies_of(actors: str, halo: bool) -> list[str]:
    return [f"actors={actors}", f"halo={'true' if halo else 'false'}"]


def who_sent_what():
    """Dr A (Riverside) saw eight patients in 2018; each heard from someone else:

    * OWN: Dr A;             * OBO: staff Sam on behalf of Dr A;
    * STAFF: Sam, for nobody; * BY-B: Dr B, another clinician of Riverside;
    * OBO-B: Sam on behalf of Dr B;
    * OUTSIDER: Dr Z, a clinician of Lakeside only;  * FOREIGN: Lou, staff of Lakeside only;
    * NOTHING: nobody.
    """
    s = clinic()
    s.practice("lakeside")
    s.clinician("drZ", "lakeside")
    s.staff("lou", "lakeside")
    senders = {
        "own": ("drA", None),
        "obo": ("sam", "drA"),
        "staff": ("sam", None),
        "by-b": ("drB", None),
        "obo-b": ("sam", "drB"),
        "outsider": ("drZ", None),
        "foreign": ("lou", None),
    }
    for key in [*senders, "nothing"]:
        s.patient(key, "riverside")
        s.visit("drA", key, "2018-03-02", location="office")
    for key, (sender, for_whom) in senders.items():
        s.message(f"to-{key}", sender, to=[key], on="2018-03-05", on_behalf_of=for_whom)
    return s.load()


# Each patient's (in_numerator, reason) for Dr A under each actors x halo reading.
EXPECTED = {
    ("clinician", False): {
        "OWN": (True, "clinician-sent"),
        "OBO": (False, "sent-by-staff"),
        "STAFF": (False, "sent-by-staff"),
        "BY-B": (False, "sent-by-other-clinician"),
        "OBO-B": (False, "sent-by-staff"),
        "OUTSIDER": (False, "sent-by-other-clinician"),
        "FOREIGN": (False, "sent-by-staff"),
        "NOTHING": (False, "no-message"),
    },
    ("clinician", True): {
        "OWN": (True, "clinician-sent"),
        "OBO": (False, "sent-by-staff"),
        "STAFF": (False, "sent-by-staff"),
        "BY-B": (True, "practice-sent"),
        "OBO-B": (False, "sent-by-staff"),
        "OUTSIDER": (False, "sent-by-other-clinician"),
        "FOREIGN": (False, "sent-by-staff"),
        "NOTHING": (False, "no-message"),
    },
    ("delegate", False): {
        "OWN": (True, "clinician-sent"),
        "OBO": (True, "delegate-sent"),
        "STAFF": (False, "sent-by-staff"),
        "BY-B": (False, "sent-by-other-clinician"),
        "OBO-B": (False, "sent-by-staff"),
        "OUTSIDER": (False, "sent-by-other-clinician"),
        "FOREIGN": (False, "sent-by-staff"),
        "NOTHING": (False, "no-message"),
    },
    ("delegate", True): {
        "OWN": (True, "clinician-sent"),
        "OBO": (True, "delegate-sent"),
        "STAFF": (False, "sent-by-staff"),
        "BY-B": (True, "practice-sent"),
        "OBO-B": (True, "practice-sent"),
        "OUTSIDER": (False, "sent-by-other-clinician"),
        "FOREIGN": (False, "sent-by-staff"),
        "NOTHING": (False, "no-message"),
    },
    ("practice", False): {
        "OWN": (True, "clinician-sent"),
        "OBO": (True, "delegate-sent"),
        "STAFF": (True, "practice-sent"),
        "BY-B": (True, "practice-sent"),
        "OBO-B": (True, "practice-sent"),
        "OUTSIDER": (False, "sent-by-other-clinician"),
        "FOREIGN": (False, "sent-by-staff"),
        "NOTHING": (False, "no-message"),
    },
    ("practice", True): {
        "OWN": (True, "clinician-sent"),
        "OBO": (True, "delegate-sent"),
        "STAFF": (True, "practice-sent"),
        "BY-B": (True, "practice-sent"),
        "OBO-B": (True, "practice-sent"),
        "OUTSIDER": (False, "sent-by-other-clinician"),
        "FOREIGN": (False, "sent-by-staff"),
        "NOTHING": (False, "no-message"),
    },
}


@pytest.mark.parametrize(("actors", "halo"), COMBINATIONS)
def test_who_may_act_for_the_clinician(actors, halo):
    s = who_sent_what()
    doc = year_report(*policies_of(actors, halo))
    assert doc["policy"]["actors"] == actors and doc["policy"]["halo"] is halo
    mine = row(doc, npi=s.npi("drA"))
    got = {p["patient"]: (p["in_numerator"], p["reason"]) for p in mine["patients"]}
    assert got == EXPECTED[(actors, halo)]
    for line in mine["patients"]:
        key = line["patient"].lower()
        assert line["evidence"] == ([] if key == "nothing" else [f"to-{key}"])
    assert mine["numerator"] == sum(1 for inside, _ in got.values() if inside)


def test_readings_give_all_six_combinations_and_nest():
    s = who_sent_what()
    doc = year_report("actors=delegate")
    mine = row(doc, npi=s.npi("drA"))
    assert len(mine["readings"]) == 6
    numerators = {(a, h): reading(mine, a, h)["numerator"] for a, h in COMBINATIONS}
    assert numerators == {
        ("clinician", False): 1,
        ("clinician", True): 2,
        ("delegate", False): 2,
        ("delegate", True): 4,
        ("practice", False): 5,
        ("practice", True): 5,
    }
    # clinician <= delegate <= practice, and halo off <= halo on.
    for halo in (False, True):
        assert numerators[("clinician", halo)] <= numerators[("delegate", halo)]
        assert numerators[("delegate", halo)] <= numerators[("practice", halo)]
    for actors in ("clinician", "delegate", "practice"):
        assert numerators[(actors, False)] <= numerators[(actors, True)]
    applied = [r for r in mine["readings"] if r.get("applied")]
    assert [(r["actors"], r["halo"]) for r in applied] == [("delegate", False)]
    assert applied[0]["numerator"] == mine["numerator"] == 2
    widest = reading(mine, "practice", True)
    assert (widest["denominator"], widest["rate"], widest["points"]) == (8, 5 / 8, 7)
    assert reading(mine, "clinician", False)["points"] == 2  # 1/8 = 12.5%


@pytest.mark.parametrize(("actors", "halo"), COMBINATIONS)
def test_each_reading_matches_the_report_computed_under_it(actors, halo):
    s = who_sent_what()
    applied = row(year_report(*policies_of(actors, halo)), npi=s.npi("drA"))
    other = row(year_report(), npi=s.npi("drA"))
    assert reading(other, actors, halo)["numerator"] == applied["numerator"]
    assert reading(other, actors, halo)["points"] == applied["points"]
    assert reading(applied, actors, halo)["applied"] is True


def test_readings_carry_met_for_thresholded_programs():
    """Dr A saw eight patients: 1/8 passes the 5% rate already under clinician."""
    s = who_sent_what()
    mine = row(measure("stage3-2018", "2018-01-01", "2018-12-31"), npi=s.npi("drA"))
    assert all(r["met"] is True for r in mine["readings"])
    assert all(r.get("points") is None for r in mine["readings"])


def test_halo_credits_every_clinician_of_the_tin_who_saw_the_patient():
    """Dr A and Dr B both saw Pat; Dr B wrote. With the halo it counts for Dr A too."""
    s = clinic()
    s.visit(["drA", "drB"], "pat", "2018-03-02", location="office")
    s.message("b1", "drB", to=["pat"], on="2018-03-05")
    s.load()
    off, on = year_report(), year_report("halo=true")
    assert why(off, "PAT", npi=s.npi("drA")) == (False, "sent-by-other-clinician", ["b1"])
    assert why(on, "PAT", npi=s.npi("drA")) == (True, "practice-sent", ["b1"])
    assert why(off, "PAT", npi=s.npi("drB")) == (True, "clinician-sent", ["b1"])
    assert why(on, "PAT", npi=s.npi("drB")) == (True, "clinician-sent", ["b1"])
    assert on["policy"]["halo"] is True


def test_exclude_pos_policy_takes_a_list_or_none():
    s = clinic()
    s.location("ward", "riverside", "21")
    s.location("er", "riverside", "23")
    for key, place in [("office-visit", "office"), ("inpatient", "ward"), ("emergency", "er")]:
        s.patient(key, "riverside")
        s.visit("drA", key, "2018-04-01", location=place)
    s.load()
    npi = s.npi("drA")
    custom = year_report("exclude_pos=21,11")
    assert custom["policy"]["exclude_pos"] == ["11", "21"]
    assert denominator(row(custom, npi=npi)) == ["EMERGENCY"]
    none = year_report("exclude_pos=none")
    assert none["policy"]["exclude_pos"] == []
    assert denominator(row(none, npi=npi)) == ["EMERGENCY", "INPATIENT", "OFFICE-VISIT"]
    assert denominator(row(year_report(), npi=npi)) == ["OFFICE-VISIT"]


def test_calendar_year_window_counts_messages_anywhere_in_the_year():
    """Period January-June 2018: the August message counts with window=calendar-year; the
    November 2017 one does not (another year)."""
    s = clinic()
    for key in ("august", "november"):
        s.patient(key, "riverside")
        s.visit("drA", key, "2018-03-02", location="office")
    s.message("aug", "drA", to=["august"], on="2018-08-01")
    s.message("nov", "drA", to=["november"], on="2017-11-01")
    s.load()
    npi = s.npi("drA")
    period = measure("pi-2018", "2018-01-01", "2018-06-30")
    year = measure("pi-2018", "2018-01-01", "2018-06-30", policies=["window=calendar-year"])
    assert (period["policy"]["window"], year["policy"]["window"]) == ("period", "calendar-year")
    assert why(period, "AUGUST", npi=npi) == (False, "outside-window", ["aug"])
    assert why(year, "AUGUST", npi=npi) == (True, "clinician-sent", ["aug"])
    assert why(year, "NOVEMBER", npi=npi) == (False, "outside-window", ["nov"])


def test_calendar_year_window_spans_every_year_the_period_touches():
    s = clinic()
    for key in ("early", "late", "before"):
        s.patient(key, "riverside")
        s.visit("drA", key, "2018-09-02", location="office")
    s.message("m-early", "drA", to=["early"], on="2018-02-01")
    s.message("m-late", "drA", to=["late"], on="2019-11-01")
    s.message("m-before", "drA", to=["before"], on="2017-12-31")
    s.load()
    doc = measure("pi-2018", "2018-07-01", "2019-06-30", policies=["window=calendar-year"])
    assert numerator(row(doc, npi=s.npi("drA"))) == ["EARLY", "LATE"]


# -- live: staff sending through the messaging actions ------------------------------------------


def test_live_staff_message_on_behalf_of_the_clinician(world):
    sent = actions.start_thread(
        world.staff.user,
        patient=world.patient,
        category="appointment",
        subject="Your appointment",
        body="Please call us to book.",
        on_behalf_of=world.c1,
    )
    got = {}
    for actors in ("clinician", "delegate", "practice"):
        doc = live_measure(policies=[f"actors={actors}"])
        got[actors] = why(doc, "RFM-1001", tin=WORLD_TIN, npi=WORLD_C1_NPI)
    assert got == {
        "clinician": (False, "sent-by-staff", [sent.identifier]),
        "delegate": (True, "delegate-sent", [sent.identifier]),
        "practice": (True, "delegate-sent", [sent.identifier]),
    }


def test_live_staff_message_without_on_behalf_of_counts_only_for_the_practice(world):
    sent = actions.start_thread(
        world.staff2.user,
        patient=world.patient,
        category="other",
        subject="Forms",
        body="Your forms are ready.",
    )
    got = {}
    for actors in ("clinician", "delegate", "practice"):
        doc = live_measure(policies=[f"actors={actors}"])
        got[actors] = why(doc, "RFM-1001", tin=WORLD_TIN, npi=WORLD_C1_NPI)
    assert got == {
        "clinician": (False, "sent-by-staff", [sent.identifier]),
        "delegate": (False, "sent-by-staff", [sent.identifier]),
        "practice": (True, "practice-sent", [sent.identifier]),
    }


def test_live_staff_reply_on_behalf_answers_the_patient(world):
    question = actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="refill",
        subject="Refill",
        body="Please renew.",
        to_pool=world.refills,
    )
    answer = actions.reply(
        world.staff.user, question.thread, body="Renewed.", on_behalf_of=world.c1
    )
    clinician = live_measure()
    delegate = live_measure(policies=["actors=delegate"])
    at = {"tin": WORLD_TIN, "npi": WORLD_C1_NPI}
    assert why(clinician, "RFM-1001", **at) == (False, "sent-by-staff", [answer.identifier])
    assert why(delegate, "RFM-1001", **at) == (True, "delegate-sent", [answer.identifier])

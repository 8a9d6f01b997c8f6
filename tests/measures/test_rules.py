"""The measure's rules, one small story each (docs/measures.md).

Historical data comes through the FHIR importer (``scenario.Scenario``); live messages through
the messaging actions on ``support.world``'s practice. Unless a test says otherwise the report
is ``pi-2018`` (individual level, scored) over 2018 with the default policies.
"""

from __future__ import annotations

import datetime as dt

import pytest

from carethread.core.models import Membership, Organization
from carethread.messaging import actions, drafts
from carethread.messaging import practice_settings as ps
from carethread.messaging.models import Message, Thread
from tests.measures.scenario import (
    WORLD_C1_NPI,
    WORLD_TIN,
    Scenario,
    clinic,
    denominator,
    live_measure,
    local,
    measure,
    numerator,
    patient_line,
    row,
    why,
    zone,
)

pytestmark = pytest.mark.django_db


YEAR = ("pi-2018", "2018-01-01", "2018-12-31")


def year_report(**options):
    return measure(*YEAR, **options)


# -- denominator ----------------------------------------------------------------------------------


def test_a_patient_seen_several_times_counts_once():
    s = clinic()
    s.visit("drA", "pat", "2018-02-01", location="office")
    s.visit("drA", "pat", "2018-05-01", location="office")
    s.visit("drA", "pat", "2018-09-01", location="office")
    s.patient("old", "riverside")
    s.visit("drA", "old", "2017-06-01", location="office")  # seen, but not in 2018
    s.patient("bees", "riverside")
    s.visit("drB", "bees", "2018-03-01", location="office")  # seen by someone else
    s.load()
    mine = row(year_report(), npi=s.npi("drA"))
    assert (mine["denominator"], denominator(mine)) == (1, ["PAT"])
    assert (mine["numerator"], mine["rate"]) == (0, 0.0)
    assert mine["exclusions"]["no_office_visits"] is False


def test_period_dates_are_inclusive_local_dates():
    """A visit at 00:00 local on the first day and at 23:59 local on the last day count; one
    second before and 00:00 local the next day do not (whatever their UTC date is)."""
    s = clinic()
    cases = {
        "first": local("2018-01-01", "00:00:00"),
        "before": local("2017-12-31", "23:59:59"),
        "last": local("2018-12-31", "23:59:00"),
        "after": local("2019-01-01", "00:00:00"),
    }
    for key, when in cases.items():
        s.patient(key, "riverside")
        s.visit("drA", key, when, location="office")
    s.load()
    mine = row(year_report(), npi=s.npi("drA"))
    assert denominator(mine) == ["FIRST", "LAST"]


def _dst_days(year: int) -> list[dt.date]:
    """The days of ``year`` on which the configured zone changes its UTC offset."""
    days = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        today = dt.datetime.combine(day, dt.time(), tzinfo=zone())
        tomorrow = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone())
        if today.utcoffset() != tomorrow.utcoffset():
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def test_period_boundaries_hold_across_a_dst_change():
    """A period ending on a day the clocks change ends at the next local midnight (new
    offset); one starting on such a day starts at its local midnight (old offset)."""
    changes = _dst_days(2018)
    if not changes:
        pytest.skip("the configured time zone has no DST change in 2018")
    s = clinic()
    for number, day in enumerate(changes):
        next_day = (day + dt.timedelta(days=1)).isoformat()
        previous = (day - dt.timedelta(days=1)).isoformat()
        stories = {
            f"end-in-{number}": local(day.isoformat(), "23:59:00"),
            f"end-out-{number}": local(next_day, "00:00:00"),
            f"start-in-{number}": local(day.isoformat(), "00:00:00"),
            f"start-out-{number}": local(previous, "23:59:59"),
        }
        for key, when in stories.items():
            s.patient(key, "riverside")
            s.visit("drA", key, when, location="office")
    s.load()
    for number, day in enumerate(changes):
        ending = measure("pi-2018", (day - dt.timedelta(days=20)).isoformat(), day.isoformat())
        seen = denominator(row(ending, npi=s.npi("drA")))
        assert f"END-IN-{number}" in seen and f"END-OUT-{number}" not in seen
        starting = measure("pi-2018", day.isoformat(), (day + dt.timedelta(days=20)).isoformat())
        seen = denominator(row(starting, npi=s.npi("drA")))
        assert f"START-IN-{number}" in seen and f"START-OUT-{number}" not in seen


def test_cancelled_and_entered_in_error_visits_do_not_count():
    s = clinic()
    for status in ("finished", "in-progress", "cancelled", "entered-in-error"):
        s.patient(status, "riverside")
        s.visit("drA", status, "2018-04-01", location="office", status=status)
    s.load()
    assert denominator(row(year_report(), npi=s.npi("drA"))) == ["FINISHED", "IN-PROGRESS"]


def test_inpatient_and_emergency_room_visits_are_excluded_by_default():
    s = clinic()
    s.location("ward", "riverside", "21")
    s.location("er", "riverside", "23")
    s.location("urgent", "riverside", "20")
    for key, place in [("inpatient", "ward"), ("emergency", "er"), ("urgent-care", "urgent")]:
        s.patient(key, "riverside")
        s.visit("drA", key, "2018-04-01", location=place)
    s.patient("both", "riverside")  # seen in the ER and at the office: counted
    s.visit("drA", "both", "2018-04-01", location="er")
    s.visit("drA", "both", "2018-05-01", location="office")
    s.patient("nowhere", "riverside")  # a visit without a location is never excluded
    s.visit("drA", "nowhere", "2018-04-01")
    s.visit("drB", "emergency", "2018-04-01", location="er")  # Dr B: hospital visits only
    s.load()
    default = row(year_report(), npi=s.npi("drA"))
    assert denominator(default) == ["BOTH", "NOWHERE", "URGENT-CARE"]
    hospital_only = row(year_report(), npi=s.npi("drB"))
    assert (hospital_only["denominator"], hospital_only["exclusions"]["no_office_visits"]) == (
        0,
        True,
    )
    everything = row(year_report(policies=["exclude_pos=none"]), npi=s.npi("drA"))
    assert denominator(everything) == ["BOTH", "EMERGENCY", "INPATIENT", "NOWHERE", "URGENT-CARE"]


def test_telehealth_visits_count():
    s = clinic()
    s.location("video", "riverside", "02")
    s.location("home-video", "riverside", "10")
    s.patient("tele", "riverside")
    s.visit("drA", "tele", "2018-04-01", location="video", klass="VR")
    s.patient("home", "riverside")
    s.visit("drA", "home", "2018-04-02", location="home-video", klass="VR")
    s.load()
    assert denominator(row(year_report(), npi=s.npi("drA"))) == ["HOME", "TELE"]


# -- numerator: what qualifies ------------------------------------------------------------------


def test_clinician_sent_message_puts_the_patient_in_the_numerator():
    """Dr A saw Pat on 2018-03-02 and wrote to Pat on 2018-03-05."""
    s = clinic()
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.message("m1", "drA", to=["pat"], on="2018-03-05")
    s.load()
    doc = year_report()
    assert why(doc, "PAT", npi=s.npi("drA")) == (True, "clinician-sent", ["m1"])
    mine = row(doc, npi=s.npi("drA"))
    assert (mine["numerator"], mine["denominator"], mine["rate"]) == (1, 1, 1.0)


def test_clinician_reply_to_the_patient_counts_as_clinician_replied():
    """Dr A saw Pat on 2018-03-02; Pat wrote to Dr A; Dr A replied on 2018-03-04."""
    s = clinic()
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.message("q1", "pat", to=["drA"], on="2018-03-03")
    s.message("r1", "drA", to=["pat"], on="2018-03-04", reply_to="q1")
    s.load()
    assert why(year_report(), "PAT", npi=s.npi("drA")) == (True, "clinician-replied", ["r1"])


def test_answer_in_a_thread_the_patient_started_is_a_reply_without_in_response_to():
    s = clinic()
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.message("q1", "pat", to=["drA"], on="2018-03-03", topic="Knee pain")
    s.message("r1", "drA", to=["pat"], on="2018-03-04", topic="Knee pain")
    s.load()
    assert Message.objects.get(identifier="r1").in_response_to is None
    assert Message.objects.get(identifier="r1").thread.started_by == "patient"
    assert why(year_report(), "PAT", npi=s.npi("drA")) == (True, "clinician-replied", ["r1"])


def test_reason_is_the_earliest_credited_message_and_evidence_lists_every_credited_one():
    s = clinic()
    s.visit("drA", "pat", "2018-01-10", location="office")
    s.message("m0", "drA", to=["pat"], on="2018-02-01")
    s.message("q1", "pat", to=["drA"], on="2018-03-01")
    s.message("r1", "drA", to=["pat"], on="2018-03-02", reply_to="q1")
    s.message("x1", "sam", to=["pat"], on="2018-03-03")  # staff: not credited, not evidence
    s.message("m9", "drA", to=["pat"], on="2019-02-01")  # outside the period
    s.load()
    assert why(year_report(), "PAT", npi=s.npi("drA")) == (True, "clinician-sent", ["m0", "r1"])


def test_clinician_to_clinician_message_counts_only_with_the_patient_among_recipients():
    s = clinic()
    s.patient("kim", "riverside")
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.visit("drA", "kim", "2018-03-02", location="office")
    s.message("cc1", "drA", to=["drB", "pat"], on="2018-03-05")
    s.message("cc2", "drA", to=["drB"], on="2018-03-05", about="kim")
    s.load()
    doc = year_report()
    assert why(doc, "PAT", npi=s.npi("drA")) == (True, "clinician-sent", ["cc1"])
    assert why(doc, "KIM", npi=s.npi("drA")) == (False, "no-message", [])


def test_message_to_an_authorised_representative_counts():
    s = clinic()
    s.representative("mum", "pat", start="2017-01-01")
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.message("m1", "drA", to=["mum"], on="2018-03-05")
    s.load()
    assert why(year_report(), "PAT", npi=s.npi("drA")) == (True, "clinician-sent", ["m1"])


def test_message_to_a_representative_outside_their_authorisation_does_not_count():
    """Kim's mother's authorisation ended a second before the message; Lee's father's began a
    second after it; Max's guardian's ended at the very instant it was sent (still valid)."""
    s = clinic()
    for kid in ("kim", "lee", "max"):
        s.patient(kid, "riverside")
        s.visit("drA", kid, "2018-03-02", location="office")
    sent = local("2018-03-05", "10:00:00")
    s.representative("kims-mum", "kim", start="2016-01-01", end=local("2018-03-05", "09:59:59"))
    s.representative("lees-dad", "lee", start=local("2018-03-05", "10:00:01"))
    s.representative("maxs-guardian", "max", start="2016-01-01", end=sent)
    s.message("late", "drA", to=["kims-mum"], on=sent)
    s.message("early", "drA", to=["lees-dad"], on=sent)
    s.message("just-in-time", "drA", to=["maxs-guardian"], on=sent)
    s.load()
    doc = year_report()
    assert why(doc, "KIM", npi=s.npi("drA")) == (False, "no-message", [])
    assert why(doc, "LEE", npi=s.npi("drA")) == (False, "no-message", [])
    assert why(doc, "MAX", npi=s.npi("drA")) == (True, "clinician-sent", ["just-in-time"])
    assert row(doc, npi=s.npi("drA"))["numerator"] == 1


def test_unanswered_patient_message_is_the_reason_with_the_patient_message_as_evidence():
    s = clinic()
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.message("q1", "pat", to=["drA"], on="2018-03-03")
    s.load()
    assert why(year_report(), "PAT", npi=s.npi("drA")) == (
        False,
        "unanswered-patient-message",
        ["q1"],
    )


def test_a_representative_message_nobody_answered_is_unanswered_too():
    s = clinic()
    s.representative("mum", "pat", start="2017-01-01")
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.message("q1", "mum", to=["drA"], on="2018-03-03")
    s.load()
    assert why(year_report(), "PAT", npi=s.npi("drA")) == (
        False,
        "unanswered-patient-message",
        ["q1"],
    )


def test_patient_message_answered_only_by_staff_is_reported_as_sent_by_staff():
    """sent-by-staff comes before unanswered-patient-message in the reason order."""
    s = clinic()
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.message("q1", "pat", to=["drA"], on="2018-03-03")
    s.message("a1", "sam", to=["pat"], on="2018-03-04", reply_to="q1")
    s.load()
    assert why(year_report(), "PAT", npi=s.npi("drA")) == (False, "sent-by-staff", ["a1"])


def test_near_miss_reasons_come_in_the_documented_order():
    """Staff before other clinicians; other clinicians before an unanswered patient message."""
    s = clinic()
    for key in ("both", "b-answered"):
        s.patient(key, "riverside")
        s.visit("drA", key, "2018-03-02", location="office")
    s.message("sam-1", "sam", to=["both"], on="2018-03-05")
    s.message("b-1", "drB", to=["both"], on="2018-03-04")
    s.message("q-2", "b-answered", to=["drA"], on="2018-03-05")
    s.message("b-2", "drB", to=["b-answered"], on="2018-03-06", reply_to="q-2")
    s.load()
    doc = year_report()
    npi = s.npi("drA")
    assert why(doc, "BOTH", npi=npi) == (False, "sent-by-staff", ["sam-1"])
    assert why(doc, "B-ANSWERED", npi=npi) == (False, "sent-by-other-clinician", ["b-2"])


def test_patient_message_answered_only_after_the_period_is_unanswered_in_it():
    """Pat wrote on 30 December; Dr A answered on 2 January. Inside the period nobody answered:
    a message is credited only inside the window (outside it, it "would be credited", rule 4),
    so rule 3 applies before rule 4."""
    s = clinic()
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.message("q1", "pat", to=["drA"], on="2018-12-30")
    s.message("r1", "drA", to=["pat"], on="2019-01-02", reply_to="q1")
    s.load()
    assert why(year_report(), "PAT", npi=s.npi("drA")) == (
        False,
        "unanswered-patient-message",
        ["q1"],
    )


def test_unanswered_is_about_the_rows_own_organisations():
    """Pat, seen by Dr A at Riverside and by Dr Z at Lakeside, wrote to Dr Z only: unanswered
    for Dr Z's Lakeside row, nothing for Dr A's Riverside row."""
    s = clinic()
    s.practice("lakeside")
    s.clinician("drZ", "lakeside")
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.visit("drZ", "pat", "2018-03-03", at="lakeside")
    s.message("q1", "pat", to=["drZ"], on="2018-03-04")
    s.load()
    doc = year_report()
    assert why(doc, "PAT", npi=s.npi("drZ")) == (False, "unanswered-patient-message", ["q1"])
    assert why(doc, "PAT", npi=s.npi("drA")) == (False, "no-message", [])


def test_retracted_draft_and_unfinished_messages_never_count():
    s = clinic()
    for key in ("retracted", "draft", "unfinished"):
        s.patient(key, "riverside")
        s.visit("drA", key, "2018-03-02", location="office")
    s.message("m1", "drA", to=["retracted"], on="2018-03-05", status="entered-in-error")
    s.message("m2", "drA", to=["draft"], on=None, status="preparation")
    s.message("m3", "drA", to=["unfinished"], on="2018-03-05", status="in-progress")
    s.load()
    mine = row(year_report(), npi=s.npi("drA"))
    assert mine["numerator"] == 0
    for mrn in ("RETRACTED", "DRAFT", "UNFINISHED"):
        line = patient_line(mine, mrn)
        assert (line["in_numerator"], line["reason"], line["evidence"]) == (False, "no-message", [])


def test_a_message_about_another_patient_does_not_count():
    """Jane represents both her children; Dr A's message to her is about Kim, not Pat."""
    s = clinic()
    s.patient("kim", "riverside")
    s.representative("jane-for-pat", "pat", start="2017-01-01")
    s.representative("jane-for-kim", "kim", start="2017-01-01")
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.visit("drA", "kim", "2018-03-02", location="office")
    s.message("about-kim", "drA", to=["jane-for-kim"], on="2018-03-05")
    s.load()
    doc = year_report()
    assert why(doc, "KIM", npi=s.npi("drA")) == (True, "clinician-sent", ["about-kim"])
    assert why(doc, "PAT", npi=s.npi("drA")) == (False, "no-message", [])


def test_a_message_by_another_clinician_is_a_near_miss():
    s = clinic()
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.message("b1", "drB", to=["pat"], on="2018-03-05")
    s.load()
    assert why(year_report(), "PAT", npi=s.npi("drA")) == (
        False,
        "sent-by-other-clinician",
        ["b1"],
    )


def test_message_outside_the_period_is_outside_window():
    """Period January-June: a message in August or last November is outside the window; one
    more than a year after the period is not even a near miss."""
    s = clinic()
    for key in ("august", "november", "much-later"):
        s.patient(key, "riverside")
        s.visit("drA", key, "2018-03-02", location="office")
    s.message("aug", "drA", to=["august"], on="2018-08-01")
    s.message("nov", "drA", to=["november"], on="2017-11-01")
    s.message("later", "drA", to=["much-later"], on="2020-03-01")
    s.load()
    doc = measure("pi-2018", "2018-01-01", "2018-06-30")
    npi = s.npi("drA")
    assert why(doc, "AUGUST", npi=npi) == (False, "outside-window", ["aug"])
    assert why(doc, "NOVEMBER", npi=npi) == (False, "outside-window", ["nov"])
    assert why(doc, "MUCH-LATER", npi=npi) == (False, "no-message", [])


def test_message_window_edges_are_local_dates():
    s = clinic()
    sent = {
        "first": local("2018-01-01", "00:00:00"),
        "before": local("2017-12-31", "23:59:59"),
        "last": local("2018-12-31", "23:59:00"),
        "after": local("2019-01-01", "00:00:00"),
    }
    for key, when in sent.items():
        s.patient(key, "riverside")
        s.visit("drA", key, "2018-06-01", location="office")
        s.message(f"m-{key}", "drA", to=[key], on=when)
    s.load()
    doc = year_report()
    npi = s.npi("drA")
    assert numerator(row(doc, npi=npi)) == ["FIRST", "LAST"]
    assert why(doc, "BEFORE", npi=npi) == (False, "outside-window", ["m-before"])
    assert why(doc, "AFTER", npi=npi) == (False, "outside-window", ["m-after"])


def test_counting_unit_is_patients_not_messages():
    s = clinic()
    s.patient("kim", "riverside")
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.visit("drA", "kim", "2018-03-02", location="office")
    for n in range(5):
        s.message(f"m{n}", "drA", to=["pat"], on=f"2018-04-0{n + 1}")
    s.load()
    mine = row(year_report(), npi=s.npi("drA"))
    assert (mine["numerator"], mine["denominator"], mine["rate"]) == (1, 2, 0.5)
    assert why(year_report(), "PAT", npi=s.npi("drA"))[2] == ["m0", "m1", "m2", "m3", "m4"]


# -- numerator: live messages through the messaging actions ---------------------------------------


def ask(world, patient=None, to=None):
    patient = patient or world.patient
    return actions.start_thread(
        patient.user,
        patient=patient,
        category="medical",
        subject="Question",
        body="Should I take it in the morning?",
        to_practitioners=[to or world.c1],
    )


def live_why(doc, mrn):
    return why(doc, mrn, tin=WORLD_TIN, npi=WORLD_C1_NPI)


def test_live_reply_by_the_clinician_counts(world):
    question = ask(world)
    answer = actions.reply(world.c1.user, question.thread, body="Yes, in the morning.")
    assert answer.in_response_to == question
    assert live_why(live_measure(), "RFM-1001") == (True, "clinician-replied", [answer.identifier])


def test_live_unanswered_message_ignores_the_automatic_acknowledgement(world):
    question = ask(world)
    automatic = Message.objects.filter(thread=question.thread, is_automatic=True)
    assert automatic.exists()  # the practice acknowledges new threads by default
    assert live_why(live_measure(), "RFM-1001") == (
        False,
        "unanswered-patient-message",
        [question.identifier],
    )


def test_live_retracted_message_does_not_count(world):
    sent = actions.start_thread(
        world.c1.user, patient=world.patient, category="other", subject="Results", body="Fine."
    )
    assert live_why(live_measure(), "RFM-1001")[:2] == (True, "clinician-sent")
    actions.retract(world.c1.user, sent)
    assert live_why(live_measure(), "RFM-1001") == (False, "no-message", [])


def test_live_draft_does_not_count(world):
    drafts.save_draft(world.c1.user, patient=world.patient, subject="Results", body="Fine.")
    assert live_why(live_measure(), "RFM-1001") == (False, "no-message", [])


def test_live_clinician_to_clinician_message(world):
    """c1 writes to c2 about the patient (patient included) and about the blocked patient
    (patient not included)."""
    included = actions.start_thread(
        world.c1.user,
        patient=world.patient,
        category="medical",
        subject="Second opinion",
        body="Please look.",
        to_practitioners=[world.c2],
        include_patient=True,
    )
    actions.start_thread(
        world.c1.user,
        patient=world.blocked_patient,
        category="medical",
        subject="Second opinion",
        body="Please look.",
        to_practitioners=[world.c2],
        include_patient=False,
    )
    assert included.thread.kind == Thread.Kind.CLINICAL
    doc = live_measure()
    assert live_why(doc, "RFM-1001") == (True, "clinician-sent", [included.identifier])
    assert live_why(doc, "RFM-1003") == (False, "no-message", [])


def test_live_message_reaches_a_valid_representative_not_an_expired_one(world):
    sent = actions.start_thread(
        world.c1.user, patient=world.patient, category="other", subject="Results", body="Fine."
    )
    reached = {r.representative_id for r in sent.recipients.all() if r.representative_id}
    assert reached == {world.rep.pk}
    assert live_why(live_measure(), "RFM-1001") == (True, "clinician-sent", [sent.identifier])


# -- portal -----------------------------------------------------------------------------------


def test_portal_status_of_each_patient(world):
    mine = row(live_measure(), tin=WORLD_TIN, npi=WORLD_C1_NPI)
    portal = {p["patient"]: p["portal"] for p in mine["patients"]}
    assert portal == {"RFM-1001": "enrolled", "RFM-1003": "blocked", "RFM-1004": "not-enrolled"}


def test_portal_status_of_imported_patients():
    s = clinic()
    for key in ("enrolled", "invited", "blocked"):
        s.patient(key, "riverside")
        s.visit("drA", key, "2018-03-02", location="office")
    s.load()
    s.enrol("enrolled")
    s.block("blocked")
    mine = row(year_report(), npi=s.npi("drA"))
    assert {p["patient"]: p["portal"] for p in mine["patients"]} == {
        "BLOCKED": "blocked",
        "ENROLLED": "enrolled",
        "INVITED": "not-enrolled",
    }


def test_patient_line_has_exactly_the_documented_keys():
    s = clinic()
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.message("m1", "drA", to=["pat"], on="2018-03-05")
    s.load()
    line = patient_line(row(year_report(), npi=s.npi("drA")), "PAT")
    assert line == {
        "patient": "PAT",
        "in_numerator": True,
        "reason": "clinician-sent",
        "evidence": ["m1"],
        "portal": "not-enrolled",
    }


def test_patient_lists_only_when_asked():
    s = clinic()
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.load()
    mine = row(year_report(patients=False), npi=s.npi("drA"))
    assert "patients" not in mine
    assert mine["denominator"] == 1


# -- program families -----------------------------------------------------------------------------


def test_mu2_2014_counts_patient_sent_messages_to_the_clinician():
    s = clinic()
    for key in ("kim", "lee", "max", "ned"):
        s.patient(key, "riverside")
    for key in ("pat", "kim", "lee", "max", "ned"):
        s.visit("drA", key, "2014-03-02", location="office")
    s.message("p1", "pat", to=["drA"], on="2014-04-01")  # no reply needed
    s.message("k1", "drA", to=["kim"], on="2014-04-01")  # the clinician wrote: not patient-sent
    s.message("l1", "lee", to=["drB"], on="2014-04-01")  # written to another clinician
    s.message("m1", "max", to=["drA"], on="2015-04-01")  # outside the period
    s.load()
    doc = measure("mu2-2014", "2014-01-01", "2014-12-31")
    npi = s.npi("drA")
    mine = row(doc, npi=npi)
    assert mine["tin"] is None  # the default level of mu2-2014 is ep
    assert why(doc, "PAT", npi=npi) == (True, "patient-sent", ["p1"])
    assert numerator(mine) == ["PAT"]
    assert (mine["numerator"], mine["denominator"], mine["rate"]) == (1, 5, 0.2)
    assert mine["threshold"] == {"rate_gt": 0.05}
    assert mine["met"] is True


def test_mu2_2014_counts_an_authorised_representative_but_not_an_expired_one():
    s = clinic()
    s.patient("kim", "riverside")
    s.representative("mum", "pat", start="2010-01-01")
    s.representative("kims-ex-guardian", "kim", start="2010-01-01", end="2014-02-01")
    s.visit("drA", "pat", "2014-03-02", location="office")
    s.visit("drA", "kim", "2014-03-02", location="office")
    s.message("q1", "mum", to=["drA"], on="2014-04-01")
    s.message("q2", "kims-ex-guardian", to=["drA"], on="2014-04-01")
    s.load()
    doc = measure("mu2-2014", "2014-01-01", "2014-12-31")
    assert why(doc, "PAT", npi=s.npi("drA")) == (True, "patient-sent", ["q1"])
    assert row(doc, npi=s.npi("drA"))["numerator"] == 1


def test_mu2_2014_message_to_a_pool_counts_under_delegate_and_practice():
    """Pat wrote to the Nurses pool (Dr A is a member), Kim to the Front desk pool (staff
    only), Lee to Dr B: each reading credits one more."""
    s = clinic()
    s.pool("nurses", "riverside", ["sam", "drA"])
    s.pool("front", "riverside", ["sam"])
    for key in ("kim", "lee"):
        s.patient(key, "riverside")
    for key in ("pat", "kim", "lee"):
        s.visit("drA", key, "2014-03-02", location="office")
    s.message("p1", "pat", to=["nurses"], on="2014-04-01")
    s.message("k1", "kim", to=["front"], on="2014-04-01")
    s.message("l1", "lee", to=["drB"], on="2014-04-01")
    s.load()
    npi = s.npi("drA")
    got = {}
    for actors in ("clinician", "delegate", "practice"):
        doc = measure("mu2-2014", "2014-01-01", "2014-12-31", policies=[f"actors={actors}"])
        got[actors] = numerator(row(doc, npi=npi))
    assert got == {"clinician": [], "delegate": ["PAT"], "practice": ["KIM", "LEE", "PAT"]}
    doc = measure("mu2-2014", "2014-01-01", "2014-12-31", policies=["actors=delegate"])
    assert why(doc, "PAT", npi=npi) == (True, "patient-sent", ["p1"])


def _set_messaging(world, enabled):
    Membership.objects.filter(practitioner=world.c1, organization=world.org).update(is_admin=True)
    ps.update_practice_settings(
        world.c1.user, world.org, ps.SettingsChange(messaging_enabled=enabled)
    )


def test_mod2_2015_capability_is_true_when_messaging_stayed_enabled(world):
    doc = measure("mod2-2015", "2015-01-01", "2015-12-31")
    mine = row(doc, npi=WORLD_C1_NPI)
    assert mine["value"] is True
    assert (mine["numerator"], mine["denominator"]) == (None, None)


def test_mod2_2015_capability_follows_the_audited_switch(world):
    """Messaging is switched off now: it was on throughout 2015 (the switch's old value), and
    it was not on throughout a period that contains the change."""
    _set_messaging(world, False)
    past = row(measure("mod2-2015", "2015-01-01", "2015-12-31"), npi=WORLD_C1_NPI)
    current = row(live_measure("mod2-2015"), npi=WORLD_C1_NPI)
    assert (past["value"], current["value"]) == (True, False)


def test_mod2_2015_capability_is_false_when_messaging_is_off_and_never_changed():
    s = clinic()
    s.visit("drA", "pat", "2015-03-02", location="office")
    s.load()
    doc = measure("mod2-2015", "2015-01-01", "2015-12-31")
    assert row(doc, npi=s.npi("drA"))["value"] is True
    Organization.objects.filter(tin=s.tin("riverside")).update(messaging_enabled=False)
    off = row(measure("mod2-2015", "2015-01-01", "2015-12-31"), npi=s.npi("drA"))
    assert off["value"] is False
    assert off["what_it_takes"] is None


def _clinician_with_patients(s, clinician, practice, count, messaged, year):
    """``clinician`` saw ``count`` patients in ``year`` and wrote to ``messaged`` of them."""
    for n in range(count):
        key = f"{clinician}-{n:03d}"
        s.patient(key, practice)
        s.visit(clinician, key, f"{year}-03-02")
        if n < messaged:
            s.message(f"msg-{key}", clinician, to=[key], on=f"{year}-03-05")


def test_mod2_2016_passes_with_one_patient_in_the_numerator():
    s = Scenario()
    s.practice("riverside")
    s.clinician("drA", "riverside")
    s.clinician("drB", "riverside")
    _clinician_with_patients(s, "drA", "riverside", 40, 1, 2016)
    _clinician_with_patients(s, "drB", "riverside", 3, 0, 2016)
    s.load()
    doc = measure("mod2-2016", "2016-01-01", "2016-12-31")
    a, b = row(doc, npi=s.npi("drA")), row(doc, npi=s.npi("drB"))
    assert a["threshold"] == b["threshold"] == {"numerator_gte": 1}
    assert (a["numerator"], a["denominator"], a["rate"], a["met"]) == (1, 40, 0.025, True)
    assert (b["numerator"], b["met"]) == (0, False)
    assert b["what_it_takes"] == {"goal": "pass", "more_patients": 1}
    assert a.get("points") is None and b.get("points") is None


@pytest.mark.parametrize(
    ("program", "year"),
    [("mod2-2017", 2017), ("mod2-2018", 2018), ("stage3-2017", 2017), ("stage3-2021", 2021)],
)
def test_rate_programs_need_more_than_five_percent(program, year):
    """1 of 20 is exactly 5%: not enough; 1 of 19 is 5.3%: passes."""
    s = Scenario()
    s.practice("riverside")
    s.clinician("drA", "riverside")
    s.clinician("drB", "riverside")
    s.clinician("drC", "riverside")
    _clinician_with_patients(s, "drA", "riverside", 20, 1, year)
    _clinician_with_patients(s, "drB", "riverside", 19, 1, year)
    _clinician_with_patients(s, "drC", "riverside", 20, 0, year)
    s.load()
    doc = measure(program, f"{year}-01-01", f"{year}-12-31")
    assert doc["warnings"] == []
    a, b, c = (row(doc, npi=s.npi(k)) for k in ("drA", "drB", "drC"))
    assert a["threshold"] == {"rate_gt": 0.05}
    assert (a["numerator"], a["denominator"], a["rate"], a["met"]) == (1, 20, 0.05, False)
    assert a["what_it_takes"] == {"goal": "pass", "more_patients": 1}
    assert (b["numerator"], b["denominator"], b["met"]) == (1, 19, True)
    assert b["rate"] == pytest.approx(1 / 19)
    assert b["what_it_takes"] is None or b["what_it_takes"]["more_patients"] == 0
    assert (c["numerator"], c["met"]) == (0, False)
    assert c["what_it_takes"] == {"goal": "pass", "more_patients": 2}


def test_mips_points_by_decile_and_what_it_takes_for_the_next_point():
    s = Scenario()
    s.practice("riverside")
    for key in ("drA", "drB", "drC", "drD"):
        s.clinician(key, "riverside")
    _clinician_with_patients(s, "drA", "riverside", 20, 1, 2018)  # 5%: 1 point
    _clinician_with_patients(s, "drB", "riverside", 3, 0, 2018)  # nothing: 0 points
    _clinician_with_patients(s, "drC", "riverside", 2, 2, 2018)  # 100%: 10 points
    _clinician_with_patients(s, "drD", "riverside", 19, 2, 2018)  # 10.5%: 2 points
    s.load()
    doc = year_report()
    a, b, c, d = (row(doc, npi=s.npi(k)) for k in ("drA", "drB", "drC", "drD"))
    for r in (a, b, c, d):
        assert (r["threshold"], r["met"]) == (None, None)
    assert (a["points"], b["points"], c["points"], d["points"]) == (1, 0, 10, 2)
    # 1/20 -> the 2nd point needs a rate above 10%: 3/20.
    assert a["what_it_takes"] == {"goal": "points", "points": 2, "more_patients": 2}
    assert b["what_it_takes"] == {"goal": "points", "points": 1, "more_patients": 1}
    assert c["what_it_takes"] is None
    # 2/19 -> the 3rd point needs a rate above 20%: 4/19.
    assert d["what_it_takes"] == {"goal": "points", "points": 3, "more_patients": 2}


@pytest.mark.parametrize(
    ("program", "measure_id", "year"),
    [
        ("aci-2017", "ACI_CCTPE_2", 2017),
        ("aci-trans-2017", "ACI_TRANS_SM_1", 2017),
        ("pi-2018", "PI_CCTPE_2", 2018),
        ("pi-trans-2018", "PI_TRANS_SM_1", 2018),
    ],
)
def test_every_mips_program_is_scored_the_same_way(program, measure_id, year):
    s = clinic()
    _clinician_with_patients(s, "drA", "riverside", 3, 1, year)  # 33%: 4 points
    s.load()
    doc = measure(program, f"{year}-01-01", f"{year}-12-31")
    assert (doc["measure_id"], doc["level"], doc["warnings"]) == (measure_id, "individual", [])
    mine = row(doc, npi=s.npi("drA"))
    assert (mine["numerator"], mine["denominator"], mine["points"]) == (1, 3, 4)
    assert (mine["threshold"], mine["met"]) == (None, None)
    # The 5th point needs a rate above 40%: 2 of 3.
    assert mine["what_it_takes"] == {"goal": "points", "points": 5, "more_patients": 1}


def test_empty_denominator_has_no_rate_and_nothing_to_gain():
    s = clinic()
    s.load()
    mine = row(year_report(), npi=s.npi("drA"))
    assert (mine["numerator"], mine["denominator"], mine["rate"]) == (0, 0, None)
    assert (mine["points"], mine["what_it_takes"]) == (0, None)
    assert mine["exclusions"]["no_office_visits"] is True
    assert mine["patients"] == []
    ep = row(measure("stage3-2018", "2018-01-01", "2018-12-31"), npi=s.npi("drA"))
    assert (ep["rate"], ep["met"], ep["what_it_takes"]) == (None, False, None)


# -- exclusions -----------------------------------------------------------------------------------


def test_broadband_exclusion_with_half_the_visits_in_a_listed_county():
    s = clinic()
    s.location("hills", "riverside", "11", state="WV", county="Pocahontas County")
    s.location("town", "riverside", "11", state="WV", county="Kanawha")
    for key in ("kim", "lee", "max"):
        s.patient(key, "riverside")
    s.visit("drA", "pat", "2018-03-02", location="hills")
    s.visit("drA", "kim", "2018-03-02", location="town")  # drA: 1 of 2 in the list
    s.visit("drB", "lee", "2018-03-02", location="hills")
    s.visit("drB", "max", "2018-03-02", location="town")
    s.visit("drB", "max", "2018-04-02", location="town")  # drB: 1 of 3 in the list
    s.load()
    counties = "state,county\nWV,Pocahontas\n"
    doc = measure(
        "stage3-2018", "2018-01-01", "2018-12-31", low_broadband_csv=counties, patients=False
    )
    assert row(doc, npi=s.npi("drA"))["exclusions"] == {
        "no_office_visits": False,
        "broadband": True,
    }
    assert row(doc, npi=s.npi("drB"))["exclusions"]["broadband"] is False
    without = measure("stage3-2018", "2018-01-01", "2018-12-31", patients=False)
    assert row(without, npi=s.npi("drA"))["exclusions"]["broadband"] is None


# -- the document ---------------------------------------------------------------------------------


def test_document_header_echoes_the_request_and_default_policies():
    s = clinic()
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.load()
    doc = year_report()
    assert {k: doc[k] for k in ("program", "measure_id", "period", "level", "policy")} == {
        "program": "pi-2018",
        "measure_id": "PI_CCTPE_2",
        "period": {"start": "2018-01-01", "end": "2018-12-31"},
        "level": "individual",
        "policy": {
            "actors": "clinician",
            "halo": False,
            "exclude_pos": ["21", "23"],
            "window": "period",
        },
    }
    assert doc["warnings"] == []


def test_period_outside_the_program_year_is_computed_with_a_warning():
    s = clinic()
    s.visit("drA", "pat", "2023-03-02", location="office")
    s.message("m1", "drA", to=["pat"], on="2023-03-05")
    s.load()
    doc = measure("pi-2018", "2023-01-01", "2023-12-31")
    assert len(doc["warnings"]) >= 1
    assert any("2018" in str(w) for w in doc["warnings"])
    assert why(doc, "PAT", npi=s.npi("drA")) == (True, "clinician-sent", ["m1"])
    assert row(doc, npi=s.npi("drA"))["points"] == 10

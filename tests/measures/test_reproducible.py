"""A report for a past period does not change when life goes on (170.315(g)(1)/(g)(2)).

Every message keeps what the engine reads: its sender and on-behalf-of clinician, its
recipients, the patient its thread is about and its sending time, and representatives keep
their authorisation period. So later events — a proxy's authorisation ending, new visits and
messages, a later message retracted, a re-import of the same history — leave the 2018 report
as it was.
"""

from __future__ import annotations

import pytest

from carethread.core.fhir_import import import_resources
from carethread.core.models import Representative
from carethread.messaging.models import Message
from tests.measures.scenario import clinic, measure

pytestmark = pytest.mark.django_db


def report_2018() -> dict:
    return measure("pi-2018", "2018-01-01", "2018-12-31", policies=["actors=delegate"])


def test_a_past_period_report_is_the_same_after_later_events():
    s = clinic()
    s.patient("kim", "riverside")
    s.representative("mom", "kim", start="2017-01-01")
    s.visit("drA", "pat", "2018-03-02", location="office")
    s.visit("drA", "kim", "2018-04-02", location="office")
    s.message("q1", "pat", to=["drA"], on="2018-03-03")
    s.message("r1", "sam", to=["pat"], on="2018-03-04", reply_to="q1", on_behalf_of="drA")
    s.message("k1", "drA", to=["mom"], on="2018-05-01")
    s.load()
    before = report_2018()
    reasons = {p["patient"]: p["reason"] for p in before["results"][0]["patients"]}
    assert reasons == {"PAT": "delegate-sent", "KIM": "clinician-sent"}

    # Later: the proxy's authorisation ends (the EHR sends the RelatedPerson again, with an
    # end), Dr A sees both patients again and writes to them (one of those messages was then
    # marked entered-in-error), and the whole 2018 history is imported once more.
    mom = next(r for r in s.resources if r["id"] == "mom")
    mom["period"] = {"start": "2017-01-01", "end": "2019-06-30"}
    s.visit("drA", "pat", "2019-02-01", location="office")
    s.visit("drA", "kim", "2019-02-01", location="office")
    s.message("later", "drA", to=["pat"], on="2019-02-02")
    s.message("late-kim", "drA", to=["kim"], on="2019-02-03", status="entered-in-error")
    import_resources(s.resources)
    assert Message.objects.filter(identifier__in=["later", "late-kim"]).count() == 2
    assert Representative.objects.get(source_key__endswith="/mom").valid_until.year == 2019

    assert report_2018() == before

"""``mod2-2015``: the row's value is true when patient messaging was enabled throughout the period
at every one of the row's practices (docs/measures.md).

The switch is flipped through the real action (``update_practice_settings``), which writes the
audited ``setting.changed`` entries the engine reads. The audit trail takes its time from its
own clock (``carethread.audit.actions``); the tests set that clock to the instant each change
is meant to happen, and check that the entry carries it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from support.world import practitioner, visit

from carethread.audit.models import AuditEvent
from carethread.core.models import Membership, Organization, Patient
from carethread.measures.engine import compute
from carethread.measures.request import RequestInput, parse
from carethread.messaging.practice_settings import SettingsChange, update_practice_settings

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo(settings.TIME_ZONE)
A_TIN, B_TIN = "271234567", "271234568"
C1, C2, C3 = "1234567893", "1245319599", "1003000126"


def local(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=ZONE)


@contextmanager
def audit_clock(when: dt.datetime) -> Iterator[None]:
    """The audit trail's clock reads ``when`` (it calls ``dt.datetime.now(dt.UTC)``)."""

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return when.astimezone(tz) if tz is not None else when.replace(tzinfo=None)

    with mock.patch("carethread.audit.actions.dt", SimpleNamespace(datetime=Frozen, UTC=dt.UTC)):
        yield


@pytest.fixture
def w():
    """Practice A (c1; c2) and practice B (c2; c3), all enabled; ``admin`` administers both."""
    ns = SimpleNamespace()
    ns.a = Organization.objects.create(tin=A_TIN, name="Riverside Family Medicine")
    ns.b = Organization.objects.create(tin=B_TIN, name="Lakeside Pediatrics")
    ns.c1 = practitioner(ns.a, "c1@a.example.org", "Rivera", npi=C1, mfa=False)
    ns.c2 = practitioner(ns.a, "c2@a.example.org", "Chen", npi=C2, mfa=False)
    Membership.objects.create(practitioner=ns.c2, organization=ns.b, role="clinician")
    ns.c3 = practitioner(ns.b, "c3@b.example.org", "Lake", npi=C3, mfa=False)
    manager = practitioner(ns.a, "admin@a.example.org", "Admin", role="staff", mfa=False)
    Membership.objects.filter(practitioner=manager).update(is_admin=True)
    Membership.objects.create(practitioner=manager, organization=ns.b, role="staff", is_admin=True)
    ns.admin = manager.user
    return ns


def switch(w, org: Organization, enabled: bool, when: dt.datetime) -> None:
    """Turn ``org``'s patient messaging on or off at ``when``, through the real action."""
    with audit_clock(when):
        update_practice_settings(w.admin, org, SettingsChange(messaging_enabled=enabled))
    entry = AuditEvent.objects.filter(action="setting.changed").order_by("-seq").first()
    assert entry is not None
    assert entry.details == {"field": "messaging_enabled", "old": not enabled, "new": enabled}
    assert entry.object_id == str(org.uuid)
    assert entry.occurred_at == when


def report(level: str = "ep", start: str = "2015-01-01", end: str = "2015-12-31", **kw: Any):
    document = compute(
        parse(RequestInput(program="mod2-2015", start=start, end=end, level=level, **kw))
    )
    rows = {(row["tin"], row["npi"]): row for row in document["results"]}
    assert len(rows) == len(document["results"])
    for row in rows.values():
        assert isinstance(row["value"], bool)
        assert row["numerator"] is None
        assert row["denominator"] is None
        assert row["rate"] is None
        assert row["met"] is row["value"]
    return document, rows


def values(level: str = "ep", **kw: Any) -> dict[tuple[str | None, str | None], bool]:
    return {key: row["value"] for key, row in report(level, **kw)[1].items()}


def a_rows(level: str = "ep", **kw: Any) -> set[bool]:
    """The values of practice A's rows at ``ep`` (c1 at A only; c2 at A and B)."""
    found = values(level, **kw)
    return {found[(None, C1)], found[(None, C2)]}


# -- the shape ----------------------------------------------------------------------------


def test_rows_carry_a_value_and_no_numbers(w):
    document, rows = report()
    assert document["program"] == "mod2-2015"
    assert document["measure_id"] is None
    assert document["level"] == "ep"
    assert document["period"] == {"start": "2015-01-01", "end": "2015-12-31"}
    assert document["warnings"] == []
    assert set(rows) == {(None, C1), (None, C2), (None, C3)}
    for row in rows.values():
        assert row["value"] is True
        assert "exclusions" in row


def test_enabled_throughout_without_any_change(w):
    assert values("ep") == {(None, C1): True, (None, C2): True, (None, C3): True}
    assert values("individual") == {
        (A_TIN, C1): True,
        (A_TIN, C2): True,
        (B_TIN, C2): True,
        (B_TIN, C3): True,
    }
    assert values("group") == {(A_TIN, None): True, (B_TIN, None): True}


def test_a_practice_disabled_without_any_recorded_change_is_false(w):
    # The current setting is all there is to go by.
    Organization.objects.filter(pk=w.b.pk).update(messaging_enabled=False)
    assert values("ep") == {(None, C1): True, (None, C2): False, (None, C3): False}
    assert values("group") == {(A_TIN, None): True, (B_TIN, None): False}


# -- changes before, during and after the period ---------------------------------------------


def test_disabled_at_the_start_is_false(w):
    switch(w, w.a, False, local(2014, 11, 3, 9, 0))
    switch(w, w.a, True, local(2015, 2, 2, 9, 0))
    assert a_rows() == {False}
    assert values()[(None, C3)] is True  # practice B only


def test_disabled_before_the_period_and_never_enabled_again_is_false(w):
    switch(w, w.a, False, local(2014, 6, 1, 9, 0))
    assert a_rows() == {False}


def test_switched_off_for_a_day_within_the_period_is_false(w):
    switch(w, w.a, False, local(2015, 6, 10, 9, 0))
    switch(w, w.a, True, local(2015, 6, 11, 9, 0))
    assert Organization.objects.get(pk=w.a.pk).messaging_enabled is True
    assert a_rows() == {False}
    assert values()[(None, C3)] is True


def test_switched_off_for_two_minutes_on_the_last_evening_is_false(w):
    switch(w, w.a, False, local(2015, 12, 31, 23, 57))
    switch(w, w.a, True, local(2015, 12, 31, 23, 59))
    assert a_rows() == {False}


def test_switched_off_in_the_first_hour_of_the_period_is_false(w):
    # 00:30 in New York on 1 January is 05:30 UTC.
    switch(w, w.a, False, dt.datetime(2015, 1, 1, 5, 30, tzinfo=dt.UTC))
    switch(w, w.a, True, dt.datetime(2015, 1, 1, 6, 0, tzinfo=dt.UTC))
    assert a_rows() == {False}


def test_switched_off_and_on_on_the_evening_before_the_period_is_true(w):
    # 23:30 and 23:45 on 31 December in New York (04:30 and 04:45 UTC on 1 January).
    switch(w, w.a, False, dt.datetime(2015, 1, 1, 4, 30, tzinfo=dt.UTC))
    switch(w, w.a, True, dt.datetime(2015, 1, 1, 4, 45, tzinfo=dt.UTC))
    assert a_rows() == {True}


def test_switched_on_before_the_period_is_true(w):
    switch(w, w.a, False, local(2014, 3, 1, 9, 0))
    switch(w, w.a, True, local(2014, 12, 31, 23, 59))
    assert a_rows() == {True}


def test_a_practice_created_disabled_and_switched_on_before_the_period_is_true(w):
    Organization.objects.filter(pk=w.a.pk).update(messaging_enabled=False)
    w.a.refresh_from_db()
    switch(w, w.a, True, local(2014, 12, 15, 9, 0))
    assert a_rows() == {True}


def test_a_practice_created_disabled_and_switched_on_during_the_period_is_false(w):
    # The only entry says the setting was off before it: off at the start of the period.
    Organization.objects.filter(pk=w.a.pk).update(messaging_enabled=False)
    w.a.refresh_from_db()
    switch(w, w.a, True, local(2015, 1, 1, 0, 1))
    assert Organization.objects.get(pk=w.a.pk).messaging_enabled is True
    assert a_rows() == {False}


def test_switched_off_after_the_period_does_not_matter(w):
    switch(w, w.a, False, local(2016, 3, 1, 9, 0))
    assert Organization.objects.get(pk=w.a.pk).messaging_enabled is False
    assert a_rows() == {True}


def test_switched_off_at_midnight_after_the_last_day_does_not_matter(w):
    switch(w, w.a, False, local(2016, 1, 1, 0, 0))
    assert a_rows() == {True}


def test_switched_off_a_minute_before_midnight_on_the_last_day_is_false(w):
    switch(w, w.a, False, local(2015, 12, 31, 23, 59))
    assert a_rows() == {False}


def test_switched_off_and_on_again_before_the_period_does_not_matter(w):
    switch(w, w.a, False, local(2014, 5, 1, 9, 0))
    switch(w, w.a, True, local(2014, 5, 2, 9, 0))
    switch(w, w.a, False, local(2016, 5, 1, 9, 0))
    switch(w, w.a, True, local(2016, 5, 2, 9, 0))
    assert a_rows() == {True}


def test_the_period_decides_which_changes_matter(w):
    switch(w, w.a, False, local(2015, 6, 10, 9, 0))
    switch(w, w.a, True, local(2015, 6, 11, 9, 0))
    assert a_rows(start="2015-01-01", end="2015-06-09") == {True}
    assert a_rows(start="2015-06-12", end="2015-12-31") == {True}
    assert a_rows(start="2015-06-10", end="2015-06-10") == {False}
    assert a_rows(start="2015-06-11", end="2015-06-30") == {False}  # off until 09:00
    assert a_rows(start="2015-06-01", end="2015-06-30") == {False}


def test_other_settings_and_other_practices_do_not_matter(w):
    with audit_clock(local(2015, 4, 1, 9, 0)):
        update_practice_settings(
            w.admin, w.a, SettingsChange(expected_response_hours=24, auto_acknowledge=False)
        )
    switch(w, w.b, False, local(2015, 4, 2, 9, 0))
    switch(w, w.b, True, local(2015, 4, 3, 9, 0))
    found = values()
    assert found[(None, C1)] is True  # practice A only
    assert found[(None, C3)] is False  # practice B only
    assert found[(None, C2)] is False  # both


# -- levels ------------------------------------------------------------------------------------


def test_every_level_reads_the_practices_of_its_rows(w):
    switch(w, w.b, False, local(2015, 8, 1, 9, 0))
    switch(w, w.b, True, local(2015, 8, 20, 9, 0))
    assert values("individual") == {
        (A_TIN, C1): True,
        (A_TIN, C2): True,
        (B_TIN, C2): False,
        (B_TIN, C3): False,
    }
    assert values("group") == {(A_TIN, None): True, (B_TIN, None): False}
    # An ep row spans every practice of its NPI: c2 works at both.
    assert values("ep") == {(None, C1): True, (None, C2): False, (None, C3): False}


def test_an_ep_row_includes_a_practice_where_its_clinician_saw_patients(w):
    # c1 is a member of A only, but saw a patient at B during the period.
    someone = Patient.objects.create(mrn="B-1", family_name="Far", birth_date=dt.date(1980, 1, 1))
    encounter = visit(someone, w.c1, w.b, days_ago=0)
    encounter.start = local(2015, 5, 5, 10, 0)
    encounter.save(update_fields=["start"])
    switch(w, w.b, False, local(2015, 8, 1, 9, 0))
    found = values("ep")
    assert found[(None, C1)] is False
    assert values("individual")[(B_TIN, C1)] is False
    assert values("individual")[(A_TIN, C1)] is True


@pytest.mark.parametrize("level", ["individual", "group", "ep"])
def test_filters_keep_the_values(w, level):
    switch(w, w.b, False, local(2015, 8, 1, 9, 0))
    everything = values(level)
    for tin in (A_TIN, B_TIN):
        kept = values(level, tin=tin)
        assert kept
        assert all(everything[key] is value for key, value in kept.items())
    for npi in (C1, C2, C3):
        kept = values(level, npi=npi)
        assert kept
        assert all(everything[key] is value for key, value in kept.items())


def test_patient_lists_are_not_available_for_a_yes_no_measure(w):
    document, rows = report(patients=True)
    assert any("capability" in warning for warning in document["warnings"])
    for row in rows.values():
        assert row.get("patients", []) == []

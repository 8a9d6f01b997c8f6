"""Date-only and partial bounds of a FHIR Period, read as FHIR R4 defines them.

A representative's ``period.start`` begins at the first local instant of its year, month or
day; its ``period.end`` includes every instant of its year, month or day ("the end value
includes any matching date/time"), in CARETHREAD_TIME_ZONE. The stored ``valid_until`` is
that period's last instant (the last microsecond), and every check reads it inclusively.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.conf import settings

from carethread.core.fhir_import import ImportFailed, import_resources
from carethread.core.models import Encounter, Representative

pytestmark = pytest.mark.django_db

TICK = dt.timedelta(microseconds=1)


def _local(year: int, month: int, day: int, *time: int) -> dt.datetime:
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return dt.datetime(year, month, day, *time, tzinfo=zone)


def _next_midnight(day: dt.date) -> dt.datetime:
    """The first instant of the day after ``day``, local, as a UTC instant."""
    following = day + dt.timedelta(days=1)
    return _local(following.year, following.month, following.day).astimezone(dt.UTC)


def _people(period: dict[str, str] | None = None) -> list[dict[str, Any]]:
    rep: dict[str, Any] = {
        "resourceType": "RelatedPerson",
        "id": "mum",
        "active": True,
        "patient": {"reference": "Patient/pat"},
        "name": [{"family": "Smith", "given": ["Jane"]}],
    }
    if period is not None:
        rep["period"] = period
    return [
        {
            "resourceType": "Patient",
            "id": "pat",
            "identifier": [{"system": "urn:example:mrn", "value": "PAT"}],
            "name": [{"family": "Smith"}],
            "birthDate": "2010-05-06",
        },
        rep,
    ]


def _imported(period: dict[str, str]) -> Representative:
    import_resources(_people(period))
    return Representative.objects.get()


def test_a_date_only_end_is_stored_as_the_last_instant_of_that_local_day() -> None:
    rep = _imported({"start": "2010-01-01", "end": "2018-06-30"})
    assert rep.valid_until == _next_midnight(dt.date(2018, 6, 30)) - TICK
    assert rep.is_valid_at(_local(2018, 6, 30, 14, 0))
    assert rep.is_valid_at(_local(2018, 6, 30, 23, 59, 59, 999999))
    assert not rep.is_valid_at(_local(2018, 7, 1))


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York", "Pacific/Chatham"])
def test_a_date_only_end_follows_the_configured_zone(settings, zone: str) -> None:
    """Also on the day the clocks go back in New York (25 hours long)."""
    settings.TIME_ZONE = zone
    rep = _imported({"end": "2018-11-04"})
    assert rep.valid_until == _next_midnight(dt.date(2018, 11, 4)) - TICK
    assert rep.is_valid_at(_local(2018, 11, 4, 23, 30))
    assert not rep.is_valid_at(_local(2018, 11, 5))


@pytest.mark.parametrize(
    ("period", "first", "last_day"),
    [
        ({"start": "2018-06", "end": "2018-06"}, dt.date(2018, 6, 1), dt.date(2018, 6, 30)),
        ({"start": "2016-02", "end": "2016-02"}, dt.date(2016, 2, 1), dt.date(2016, 2, 29)),
        ({"start": "2018", "end": "2018"}, dt.date(2018, 1, 1), dt.date(2018, 12, 31)),
        ({"start": "2018-12", "end": "2019"}, dt.date(2018, 12, 1), dt.date(2019, 12, 31)),
    ],
)
def test_year_and_month_bounds_cover_their_whole_local_period(
    period: dict[str, str], first: dt.date, last_day: dt.date
) -> None:
    rep = _imported(period)
    assert rep.valid_from == _local(first.year, first.month, first.day)
    assert rep.valid_until == _next_midnight(last_day) - TICK
    assert rep.consent_given_at == rep.valid_from


def test_an_end_on_the_day_of_a_timed_start_is_not_before_it() -> None:
    rep = _imported({"start": "2018-06-30T14:00:00Z", "end": "2018-06-30"})
    assert rep.valid_from == dt.datetime(2018, 6, 30, 14, 0, tzinfo=dt.UTC)
    assert rep.valid_until == _next_midnight(dt.date(2018, 6, 30)) - TICK


def test_an_end_with_a_time_is_the_instant_written() -> None:
    rep = _imported({"end": "2018-06-30T14:00:00+02:00"})
    assert rep.valid_until == dt.datetime(2018, 6, 30, 12, 0, tzinfo=dt.UTC)


def test_an_end_before_the_start_is_still_refused() -> None:
    with pytest.raises(ImportFailed) as failed:
        import_resources(_people({"start": "2018-07", "end": "2018-06"}))
    assert [issue.message for issue in failed.value.errors] == ["period.end is before period.start"]


def test_reimporting_corrects_an_end_stored_as_the_start_of_its_day() -> None:
    """Rows imported before date-only ends were read as whole days hold the day's first
    instant; importing the same resources again stores the day's last instant."""
    rep = _imported({"start": "2010-01-01", "end": "2018-06-30"})
    Representative.objects.filter(pk=rep.pk).update(valid_until=_local(2018, 6, 30))
    summary = import_resources(_people({"start": "2010-01-01", "end": "2018-06-30"}))
    assert summary.counts["RelatedPerson"].updated == 1
    rep.refresh_from_db()
    assert rep.valid_until == _next_midnight(dt.date(2018, 6, 30)) - TICK


def test_a_visit_needs_at_least_a_day_and_a_date_alone_starts_at_local_midnight() -> None:
    org = {
        "resourceType": "Organization",
        "id": "org",
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.4.4", "value": "123456789"}],
        "name": "Riverside",
    }

    def visit(start: str) -> dict[str, Any]:
        return {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": "Patient/pat"},
            "serviceProvider": {"reference": "Organization/org"},
            "period": {"start": start},
        }

    with pytest.raises(ImportFailed) as failed:
        import_resources([*_people(), org, visit("2018-06")])
    assert [issue.message for issue in failed.value.errors] == [
        "period.start needs at least a day (YYYY-MM-DD)"
    ]
    import_resources([*_people(), org, visit("2018-06-30")])
    assert Encounter.objects.get().start == _local(2018, 6, 30)

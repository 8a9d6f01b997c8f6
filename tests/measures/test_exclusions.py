"""The MU / Medicaid exclusions of every result row (docs/measures.md): ``no_office_visits`` and
``broadband``, at the individual, group and ep levels.

The practices, locations (place of service, state and county), clinicians and visits come in
through the FHIR importer, as a practice's data would.

* ``no_office_visits``: the row's clinician(s) saw nobody in the period at a qualifying
  encounter (not cancelled / entered in error, not at an excluded place of service); the row is
  still there, with an empty denominator and a null rate.
* ``broadband``: null without a county list; else true when 50% or more of the qualifying
  encounters of the row (its clinicians, at its organisations; every organisation at ``ep``)
  were at locations in a listed county. Encounters are counted, not patients.
"""

from __future__ import annotations

from typing import Any

import pytest

from carethread.core.fhir_import import import_resources
from carethread.core.fhir_systems import POS_SYSTEM
from carethread.measures.engine import compute
from carethread.measures.request import RequestInput, parse
from tests.messaging.fhir_helpers import npi, organization, patient, practitioner, ref, role

pytestmark = pytest.mark.django_db

RIVERSIDE, LAKESIDE = "271234567", "271234568"
C1, C2, C3 = npi("123456789"), npi("123456790"), npi("123456791")
# c1: Riverside; c2: Riverside and Lakeside; c3: Lakeside (no visits in any test).
CLINICIANS = {"c1": C1, "c2": C2, "c3": C3}
LISTED = "state,county\nNY,Kings\nNY,Orange County\n"
DAY = "2017-03-01T09:00:00-05:00"

# id: (organisation, place of service, state, county as the EHR writes it)
LOCATIONS = {
    "kings": ("riverside", "11", "NY", "Kings County"),  # listed
    "queens": ("riverside", "11", "NY", "Queens"),
    "kings-hospital": ("riverside", "21", "NY", "Kings"),  # listed county, inpatient
    "kings-er": ("riverside", "23", "NY", "Kings County"),  # listed county, emergency room
    "queens-er": ("riverside", "23", "NY", "Queens County"),
    "lk-kings": ("lakeside", "11", "ny", "kings"),  # listed (any case)
    "lk-bronx": ("lakeside", "11", "NY", "Bronx"),
    "lk-orange-ca": ("lakeside", "11", "CA", "Orange"),  # Orange County, NY is listed, not CA
    "lk-orange-ny": ("lakeside", "11", "NY", "Orange"),  # listed
    "lk-video": ("lakeside", "02", "NY", "Kings"),  # telehealth, listed county
}


def location(ident: str) -> dict[str, Any]:
    org, pos, state, county = LOCATIONS[ident]
    return {
        "resourceType": "Location",
        "id": ident,
        "name": ident,
        "type": [{"coding": [{"system": POS_SYSTEM, "code": pos}]}],
        "address": {"state": state, "district": county},
        "managingOrganization": ref("Organization", org),
    }


def visit(
    ident: str, who: str, where: str, whom: str, *, start: str = DAY, status: str = "finished"
) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": ident,
        "status": status,
        "class": {"code": "VR" if LOCATIONS[where][1] == "02" else "AMB"},
        "subject": ref("Patient", whom),
        "participant": [{"individual": ref("Practitioner", who)}],
        "period": {"start": start},
        "serviceProvider": ref("Organization", LOCATIONS[where][0]),
        "location": [{"location": ref("Location", where)}],
    }


class Visits:
    """Visits to import: ``add(who, where, n)`` adds ``n`` visits, each with a new patient
    unless ``whom`` names one."""

    def __init__(self) -> None:
        self.resources: list[dict[str, Any]] = []
        self.patients: set[str] = set()

    def add(
        self,
        who: str,
        where: str,
        n: int = 1,
        *,
        whom: str | None = None,
        start: str = DAY,
        status: str = "finished",
    ) -> Visits:
        for _ in range(n):
            number = len(self.resources) + 1
            person = whom or f"p{number}"
            if person not in self.patients:
                self.patients.add(person)
                self.resources.append(patient(person, f"MRN-{person}"))
            self.resources.append(
                visit(f"e{number}", who, where, person, start=start, status=status)
            )
        return self


def load(visits: Visits | None = None) -> None:
    import_resources(
        [
            organization("riverside", RIVERSIDE, "Riverside Family Medicine"),
            organization("lakeside", LAKESIDE, "Lakeside Pediatrics"),
            practitioner("c1", "Rivera", "123456789"),
            practitioner("c2", "Chen", "123456790"),
            practitioner("c3", "Lake", "123456791"),
            practitioner("s1", "Okafor"),
            practitioner("s2", "Staffer", "123456792"),  # an NPI, but staff everywhere
            role("c1-riverside", "c1", "riverside"),
            role("c2-riverside", "c2", "riverside"),
            role("c2-lakeside", "c2", "lakeside"),
            role("c3-lakeside", "c3", "lakeside"),
            role("s1-riverside", "s1", "riverside", "staff"),
            role("s2-riverside", "s2", "riverside", "staff"),
            *(location(ident) for ident in LOCATIONS),
            *(visits.resources if visits else []),
        ]
    )


def report(level: str, counties: str | None = LISTED, **options: Any) -> dict[Any, dict]:
    document = compute(
        parse(
            RequestInput(
                program="mod2-2017",
                start="2017-01-01",
                end="2017-12-31",
                level=level,
                low_broadband_csv=counties,
                **options,
            )
        )
    )
    rows = {(row["tin"], row["npi"]): row for row in document["results"]}
    assert len(rows) == len(document["results"]), "one row per entity"
    return rows


def individual(tin: str, who: str, **kw: Any) -> dict:
    return report("individual", **kw)[(tin, CLINICIANS[who])]


def group(tin: str, **kw: Any) -> dict:
    return report("group", **kw)[(tin, None)]


def ep(who: str, **kw: Any) -> dict:
    return report("ep", **kw)[(None, CLINICIANS[who])]


# -- no_office_visits -----------------------------------------------------------------------


def assert_no_visits(row: dict) -> None:
    assert row["denominator"] == 0
    assert row["numerator"] == 0
    assert row["rate"] is None
    assert row["met"] is False
    assert row["exclusions"]["no_office_visits"] is True


def test_a_clinician_without_visits_still_has_a_row_at_every_level():
    load(Visits().add("c1", "kings"))
    assert_no_visits(individual(LAKESIDE, "c3"))
    assert_no_visits(ep("c3"))
    assert individual(RIVERSIDE, "c1")["exclusions"]["no_office_visits"] is False
    assert ep("c1")["exclusions"]["no_office_visits"] is False


def test_a_practice_without_visits_still_has_a_group_row():
    load(Visits().add("c1", "kings"))
    assert_no_visits(group(LAKESIDE))
    assert group(RIVERSIDE)["exclusions"]["no_office_visits"] is False


def test_a_membership_without_visits_is_its_own_row_even_when_the_clinician_has_others():
    # c2 sees patients at Riverside only: the Lakeside membership has no office visits.
    load(Visits().add("c2", "kings", 2))
    assert_no_visits(individual(LAKESIDE, "c2"))
    row = individual(RIVERSIDE, "c2")
    assert row["denominator"] == 2
    assert row["exclusions"]["no_office_visits"] is False
    # At ep the NPI's visits anywhere count.
    assert ep("c2")["exclusions"]["no_office_visits"] is False
    assert ep("c2")["denominator"] == 2


def test_staff_have_no_rows():
    load(Visits().add("c1", "kings"))
    for level in ("individual", "ep"):
        npis = {npi_ for _tin, npi_ in report(level)}
        assert npi("123456792") not in npis
        assert npis == {C1, C2, C3}


@pytest.mark.parametrize(
    ("where", "start", "status"),
    [
        ("kings", DAY, "cancelled"),
        ("kings", DAY, "entered-in-error"),
        ("kings-hospital", DAY, "finished"),  # POS 21
        ("queens-er", DAY, "finished"),  # POS 23
        ("kings", "2016-12-31T23:59:00-05:00", "finished"),  # the day before
        ("kings", "2018-01-01T00:00:00-05:00", "finished"),  # midnight after the last day
        ("kings", "2017-12-31T23:30:00-06:00", "finished"),  # 00:30 next day in New York
    ],
)
def test_encounters_that_do_not_qualify_leave_no_office_visits(where, start, status):
    load(Visits().add("c1", where, start=start, status=status))
    assert_no_visits(individual(RIVERSIDE, "c1"))
    assert_no_visits(group(RIVERSIDE))
    assert_no_visits(ep("c1"))


@pytest.mark.parametrize(
    ("where", "start", "status"),
    [
        ("kings", "2017-01-01T00:00:00-05:00", "finished"),  # first instant of the period
        ("kings", "2017-12-31T23:30:00-05:00", "finished"),  # last evening
        ("kings", DAY, "in-progress"),
        ("kings", DAY, "planned"),
        ("lk-video", DAY, "finished"),  # telehealth counts as seen
    ],
)
def test_a_qualifying_encounter_is_an_office_visit(where, start, status):
    load(Visits().add("c2", where, start=start, status=status))
    tin = RIVERSIDE if LOCATIONS[where][0] == "riverside" else LAKESIDE
    row = individual(tin, "c2")
    assert row["denominator"] == 1
    assert row["exclusions"]["no_office_visits"] is False
    assert group(tin)["exclusions"]["no_office_visits"] is False
    assert ep("c2")["exclusions"]["no_office_visits"] is False


def test_an_excluded_place_of_service_is_an_office_visit_when_nothing_is_excluded():
    load(Visits().add("c1", "kings-hospital"))
    assert_no_visits(individual(RIVERSIDE, "c1"))
    row = individual(RIVERSIDE, "c1", policies=["exclude_pos=none"])
    assert row["denominator"] == 1
    assert row["exclusions"]["no_office_visits"] is False


# -- broadband -------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["individual", "group", "ep"])
def test_broadband_is_null_without_a_county_list(level):
    load(Visits().add("c1", "kings", 3).add("c2", "lk-kings"))
    rows = report(level, counties=None)
    assert rows
    for row in rows.values():
        assert row["exclusions"]["broadband"] is None


@pytest.mark.parametrize(
    ("listed", "unlisted", "expected"),
    [
        (1, 0, True),
        (1, 1, True),  # exactly 50%
        (2, 2, True),
        (3, 3, True),
        (1, 2, False),  # just below
        (2, 3, False),
        (3, 4, False),
        (0, 1, False),
        (4, 3, True),
    ],
)
def test_broadband_is_true_from_half_of_the_encounters_in_listed_counties(
    listed, unlisted, expected
):
    load(Visits().add("c1", "kings", listed).add("c1", "queens", unlisted))
    assert individual(RIVERSIDE, "c1")["exclusions"]["broadband"] is expected
    assert ep("c1")["exclusions"]["broadband"] is expected
    # c1 is Riverside's only clinician with visits: the group's encounters are c1's.
    assert group(RIVERSIDE)["exclusions"]["broadband"] is expected


def test_broadband_counts_encounters_not_patients():
    # One patient seen twice in Kings, two patients seen once in Queens: 2 of 4 encounters
    # (50%) are in a listed county, though only 1 of 3 patients is.
    load(Visits().add("c1", "kings", 2, whom="pk").add("c1", "queens", 2))
    assert individual(RIVERSIDE, "c1")["exclusions"]["broadband"] is True
    assert individual(RIVERSIDE, "c1")["denominator"] == 3


def test_broadband_counts_encounters_not_patients_the_other_way():
    # One patient in Kings once, one patient in Queens twice: 1 of 3 encounters (1 of 2 patients).
    load(Visits().add("c1", "kings").add("c1", "queens", 2, whom="pq"))
    assert individual(RIVERSIDE, "c1")["exclusions"]["broadband"] is False


def test_encounters_at_excluded_places_of_service_do_not_count_towards_broadband():
    # 2 listed office visits, 1 unlisted; 2 unlisted emergency-room visits (POS 23) are ignored.
    load(Visits().add("c1", "kings", 2).add("c1", "queens").add("c1", "queens-er", 2))
    assert individual(RIVERSIDE, "c1")["exclusions"]["broadband"] is True  # 2 of 3
    assert ep("c1")["exclusions"]["broadband"] is True
    assert group(RIVERSIDE)["exclusions"]["broadband"] is True
    # With nothing excluded they count: 2 of 5.
    assert (
        individual(RIVERSIDE, "c1", policies=["exclude_pos=none"])["exclusions"]["broadband"]
        is False
    )


def test_excluded_visits_in_a_listed_county_do_not_make_broadband_true():
    # 1 listed office visit, 2 unlisted; 3 hospital visits (POS 21, 23) in the listed county.
    load(
        Visits()
        .add("c1", "kings")
        .add("c1", "queens", 2)
        .add("c1", "kings-hospital", 2)
        .add("c1", "kings-er")
    )
    assert individual(RIVERSIDE, "c1")["exclusions"]["broadband"] is False  # 1 of 3
    assert ep("c1")["exclusions"]["broadband"] is False
    assert group(RIVERSIDE)["exclusions"]["broadband"] is False
    # Excluding only POS 23: the two inpatient visits count, 3 of 5.
    row = individual(RIVERSIDE, "c1", policies=["exclude_pos=23"])
    assert row["exclusions"]["broadband"] is True
    row = individual(RIVERSIDE, "c1", policies=["exclude_pos=none"])
    assert row["exclusions"]["broadband"] is True  # 4 of 6


def test_encounters_that_are_not_visits_do_not_count_towards_broadband():
    load(
        Visits()
        .add("c1", "queens")
        .add("c1", "kings", 2, status="cancelled")
        .add("c1", "kings", status="entered-in-error")
        .add("c1", "kings", 2, start="2016-06-01T09:00:00-04:00")
        .add("c1", "kings", start="2018-01-01T00:00:00-05:00")
    )
    assert individual(RIVERSIDE, "c1")["exclusions"]["broadband"] is False  # 0 of 1
    assert individual(RIVERSIDE, "c1")["denominator"] == 1


def test_county_names_match_with_or_without_county_and_in_any_case():
    # Location "Kings County" against the list's "Kings"; "kings" (lower case, state "ny") at
    # Lakeside; Orange County NY listed as "Orange County", the location says "Orange".
    load(Visits().add("c2", "kings").add("c2", "lk-kings").add("c2", "lk-orange-ny"))
    assert individual(RIVERSIDE, "c2")["exclusions"]["broadband"] is True
    assert individual(LAKESIDE, "c2")["exclusions"]["broadband"] is True
    assert ep("c2")["exclusions"]["broadband"] is True
    load_list = "NY,Kings County\n"
    assert individual(RIVERSIDE, "c2", counties=load_list)["exclusions"]["broadband"] is True
    assert individual(LAKESIDE, "c2", counties=load_list)["exclusions"]["broadband"] is True


def test_a_county_of_the_same_name_in_another_state_is_not_listed():
    load(Visits().add("c2", "lk-orange-ca"))
    assert individual(LAKESIDE, "c2")["exclusions"]["broadband"] is False
    assert individual(LAKESIDE, "c2", counties="CA,Orange\n")["exclusions"]["broadband"] is True


def test_telehealth_visits_count_by_their_location():
    load(Visits().add("c2", "lk-video").add("c2", "lk-bronx"))
    assert individual(LAKESIDE, "c2")["exclusions"]["broadband"] is True  # 1 of 2


def test_individual_rows_count_the_visits_of_their_tin_and_ep_rows_all_of_them():
    # c2: 1 listed visit at Riverside; 2 unlisted at Lakeside.
    load(Visits().add("c2", "kings").add("c2", "lk-bronx", 2))
    assert individual(RIVERSIDE, "c2")["exclusions"]["broadband"] is True  # 1 of 1
    assert individual(LAKESIDE, "c2")["exclusions"]["broadband"] is False  # 0 of 2
    assert ep("c2")["exclusions"]["broadband"] is False  # 1 of 3


def test_an_ep_row_reaches_half_across_its_practices():
    # c2: 2 listed visits at Riverside; 2 unlisted at Lakeside: 2 of 4 over both practices.
    load(Visits().add("c2", "kings", 2).add("c2", "lk-bronx", 2))
    assert individual(RIVERSIDE, "c2")["exclusions"]["broadband"] is True
    assert individual(LAKESIDE, "c2")["exclusions"]["broadband"] is False
    assert ep("c2")["exclusions"]["broadband"] is True


def test_one_more_unlisted_visit_puts_an_ep_row_below_half():
    load(Visits().add("c2", "kings", 2).add("c2", "lk-bronx", 3))
    assert ep("c2")["exclusions"]["broadband"] is False


def test_group_rows_count_the_visits_of_their_clinicians_at_their_tin():
    # Riverside: c1 1 listed + 1 unlisted, c2 1 listed + 2 unlisted: 2 of 5, below half for the
    # practice and for each clinician. c2's listed Lakeside visits belong to Lakeside's row.
    load(
        Visits()
        .add("c1", "kings")
        .add("c1", "queens")
        .add("c2", "kings")
        .add("c2", "queens", 2)
        .add("c2", "lk-kings", 3)
    )
    assert individual(RIVERSIDE, "c1")["exclusions"]["broadband"] is True  # 1 of 2
    assert individual(RIVERSIDE, "c2")["exclusions"]["broadband"] is False  # 1 of 3
    assert group(RIVERSIDE)["exclusions"]["broadband"] is False  # 2 of 5
    assert group(LAKESIDE)["exclusions"]["broadband"] is True  # 3 of 3
    assert ep("c2")["exclusions"]["broadband"] is True  # 4 of 6


def test_group_rows_pool_the_visits_of_the_practice():
    # Riverside: c1 3 listed of 3, c2 0 listed of 2: the practice 3 of 5.
    load(Visits().add("c1", "kings", 3).add("c2", "queens", 2))
    assert group(RIVERSIDE)["exclusions"]["broadband"] is True
    assert individual(RIVERSIDE, "c2")["exclusions"]["broadband"] is False

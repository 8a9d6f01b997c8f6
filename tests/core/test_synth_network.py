"""The generated network's shape: sizes scale with N and the distributions look like a practice."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from carethread.core.synth import Network, build_network
from carethread.core.synth.network import CANCELLED, CLINICIAN, ENTERED_IN_ERROR, STAFF
from carethread.core.synth.people import age_on

YEAR = 2024  # a leap year


@pytest.fixture(scope="module")
def network() -> Network:
    return build_network(6000, 11, YEAR)


def clinicians(network: Network) -> list[int]:
    return [p.index for p in network.practitioners if p.is_clinician]


def test_sizes_scale_with_the_number_of_patients(network: Network) -> None:
    small = build_network(300, 11, YEAR)
    large = build_network(24000, 11, YEAR)
    assert len(small.organizations) == 3
    assert len(large.organizations) == 6
    assert len(small.patients) == 300 and len(large.patients) == 24000
    assert len(clinicians(large)) > len(clinicians(small)) >= 9
    # about one clinician per 1,500-2,000 patients once practices are large enough
    assert 24000 / 2100 <= len(clinicians(large)) <= 24000 / 1100
    assert len(large.encounters) > 60 * len(small.encounters) > 0
    for org in large.organizations:
        assert len(org.clinicians) >= 3 and len(org.staff) >= 2
        assert 2 <= len(org.locations) <= 5


def test_visit_counts_per_patient(network: Network) -> None:
    visits = Counter(network.encounters.patient)
    per_patient = [visits[p.index] for p in network.patients]
    mean = sum(per_patient) / len(per_patient)
    assert 2.5 <= mean <= 3.5
    share = Counter(per_patient)
    assert 0.05 < share[0] / len(per_patient) < 0.2
    assert sum(share[n] for n in (1, 2, 3)) / len(per_patient) > 0.45
    assert 0.03 < sum(share[n] for n in range(8, 16)) / len(per_patient) < 0.15
    assert max(per_patient) <= 15


def test_patients_mostly_see_their_primary_clinician(network: Network) -> None:
    office = [e for e in network.encounters if network.locations[e.location].pos == "11"]
    primary = sum(e.clinician == network.patients[e.patient].clinician for e in office)
    assert 0.75 < primary / len(office) < 0.98
    for encounter in network.encounters:
        org = network.locations[encounter.location].organization
        assert org == network.patients[encounter.patient].organization
        assert encounter.clinician in network.organizations[org].clinicians
        assert encounter.second != encounter.clinician


def test_statuses_and_places(network: Network) -> None:
    statuses = Counter(network.encounters.status)
    total = len(network.encounters)
    assert 0.025 < statuses[CANCELLED] / total < 0.06
    assert 0 < statuses[ENTERED_IN_ERROR] / total < 0.015
    places = Counter(network.locations[e.location].pos for e in network.encounters)
    assert places["11"] / total > 0.7
    assert places["21"] and places["23"]


def test_encounters_are_time_ordered_per_patient_and_inside_the_year(network: Network) -> None:
    log = network.encounters
    for i in range(1, len(log)):
        if log.patient[i] == log.patient[i - 1]:
            assert (log.day[i], log.minute[i]) >= (log.day[i - 1], log.minute[i - 1])
    assert max(log.day) <= 365 and min(log.day) >= 0
    starts = [network.encounter_start(log[i]) for i in (0, len(log) - 1)]
    assert all(start.year == YEAR and start.tzinfo is not None for start in starts)


def test_patients_ages_emails_and_activity(network: Network) -> None:
    ages = [age_on(p, network.first_day) for p in network.patients]
    assert min(ages) == 0 and 85 <= max(ages) <= 95
    assert 0.15 < sum(a < 18 for a in ages) / len(ages) < 0.3
    emails = [p.email for p in network.patients if p.email]
    assert 0.7 < len(emails) / len(ages) < 0.9
    assert all(e.endswith(("@example.org", "@example.com")) for e in emails)
    assert len(set(emails)) == len(emails)
    inactive = sum(not p.active for p in network.patients)
    assert 0 < inactive < 0.05 * len(ages)
    assert all(p.birth_date < network.first_day for p in network.patients)


def test_representatives(network: Network) -> None:
    reps = network.representatives
    assert 0.03 <= len({r.patient for r in reps}) / len(network.patients) <= 0.06
    young = [r for r in reps if age_on(network.patients[r.patient], network.first_day) < 18]
    old = [r for r in reps if age_on(network.patients[r.patient], network.first_day) >= 75]
    assert {r.relationship for r in young} <= {"MTH", "FTH", "GUARD"}
    assert {"DAU", "SON"} <= {r.relationship for r in old}
    expired = [r for r in reps if r.end is not None and r.end < dt.date(YEAR, 12, 31)]
    assert 0 < len(expired) < 0.5 * len(reps)
    assert all(r.end is None or r.end > r.start for r in reps)


def test_practitioner_roles(network: Network) -> None:
    two_tins = [p for p in network.practitioners if len(p.roles) == 2]
    assert 0.05 < len(two_tins) / len(clinicians(network)) < 0.2
    assert all(role == CLINICIAN for p in two_tins for _org, role in p.roles)
    assert all(p.roles[0][0] != p.roles[1][0] for p in two_tins)
    staff = [p for p in network.practitioners if p.roles[0][1] == STAFF]
    assert staff and any(p.npi is None for p in staff)
    assert all(p.npi for p in network.practitioners if p.is_clinician)
    emails = [p.email for p in network.practitioners]
    assert len(set(emails)) == len(emails)


def test_random_streams_are_independent(network: Network) -> None:
    """A later generator drawing from its own stream cannot shift the base data set."""
    again = build_network(6000, 11, YEAR)
    assert again.rng("messages").random() == network.rng("messages").random()
    assert network.rng("messages").random() != network.rng("encounters").random()
    assert list(again.encounters.day) == list(network.encounters.day)

"""Patients (panels of the practices) and their authorised representatives."""

from __future__ import annotations

import datetime as dt
import itertools
import random

from carethread.core.synth import vocab
from carethread.core.synth.network import POS_OFFICE, Network, Patient, Representative
from carethread.core.synth.progress import Advance, Ticker

INACTIVE_SHARE = 0.015
VISITING_CLINICIAN_WEIGHT = 0.3  # a second-practice clinician's share of new patients there
EMAIL_DOMAINS = ("example.com", "example.org")
DAYS_PER_YEAR = 365.2425


def panel_assignment(network: Network, patients: int) -> list[int]:
    """The practice of each patient; practices differ in size (±40%)."""
    rng = network.rng("panels")
    weights = [rng.uniform(0.6, 1.4) for _ in network.organizations]
    cumulative = list(itertools.accumulate(weights))
    orgs = range(len(network.organizations))
    return [rng.choices(orgs, cum_weights=cumulative)[0] for _ in range(patients)]


def add_patients(network: Network, assignment: list[int], advance: Advance) -> None:
    rng = network.rng("patients")
    clinician_weights = []
    offices = []
    for org in network.organizations:
        weights = [
            1.0 if network.practitioners[c].roles[0][0] == org.index else VISITING_CLINICIAN_WEIGHT
            for c in org.clinicians
        ]
        clinician_weights.append(list(itertools.accumulate(weights)))
        offices.append(org.locations_with(network, POS_OFFICE))
    bands = [band for band, _share in vocab.AGE_BANDS]
    band_weights = list(itertools.accumulate(share for _band, share in vocab.AGE_BANDS))
    first_day = network.first_day
    random_ = rng.random
    ticker = Ticker(advance)
    for index, org_index in enumerate(assignment):
        ticker.tick()
        org = network.organizations[org_index]
        female = random_() < 0.51
        low, high = rng.choices(bands, cum_weights=band_weights)[0]
        age = rng.randint(low, high)
        born = first_day - dt.timedelta(days=int((age + random_()) * DAYS_PER_YEAR) + 1)
        network.patients.append(
            Patient(
                index=index,
                organization=org_index,
                clinician=rng.choices(org.clinicians, cum_weights=clinician_weights[org_index])[0],
                office=rng.choice(offices[org_index]),
                given=rng.choice(vocab.FEMALE_GIVEN if female else vocab.MALE_GIVEN),
                family=rng.choice(vocab.FAMILY),
                gender="female" if female else "male",
                birth_date=born,
                email_domain=rng.choice(EMAIL_DOMAINS) if random_() < _email_share(age) else "",
                active=random_() >= INACTIVE_SHARE,
            )
        )
    ticker.close()


def _email_share(age: int) -> float:
    if age < 13:
        return 0.0  # a parent holds the portal account
    if age < 18:
        return 0.5
    return 0.6 if age >= 85 else 0.88


def age_on(patient: Patient, day: dt.date) -> int:
    born = patient.birth_date
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def add_representatives(network: Network) -> None:
    """About 4% of patients: parents of young children (some ended at the child's 18th
    birthday), caregivers of the elderly, a few guardians of adults; some periods have expired."""
    rng = network.rng("representatives")
    first_day = network.first_day
    for patient in network.patients:
        age = age_on(patient, first_day)
        roll = rng.random()
        if age < 13 and roll < 0.15:
            _add_parents(network, rng, patient)
        elif 18 <= age <= 20 and roll < 0.10:
            eighteenth = _birthday(patient.birth_date, 18)
            code = rng.choice(("MTH", "FTH"))
            _add(network, rng, patient, code, patient.birth_date, eighteenth, rng.random() < 0.5)
        elif age >= 75 and roll < 0.15:
            _add_caregiver(network, rng, patient)
        elif 21 <= age < 75 and roll < 0.002:
            start = first_day - dt.timedelta(days=rng.randint(30, 3000))
            _add(network, rng, patient, rng.choice(("GUARD", "FRND")), start, None, True)


def _add_parents(network: Network, rng: random.Random, patient: Patient) -> None:
    code = rng.choices(("MTH", "FTH", "GUARD"), weights=(55, 35, 10))[0]
    end = None
    if rng.random() < 0.05:  # custody changed: the authorisation ended before or during the year
        end = _expiry(network, rng, patient.birth_date)
    _add(network, rng, patient, code, patient.birth_date, end, end is None or rng.random() < 0.5)
    if code != "GUARD" and rng.random() < 0.2:
        _add(
            network, rng, patient, "FTH" if code == "MTH" else "MTH", patient.birth_date, None, True
        )


def _add_caregiver(network: Network, rng: random.Random, patient: Patient) -> None:
    code = rng.choices(("DAU", "SON", "SPOUSE", "FRND", "GUARD"), weights=(35, 25, 20, 10, 10))[0]
    start = network.first_day - dt.timedelta(days=rng.randint(30, 3000))
    end = _expiry(network, rng, start) if rng.random() < 0.2 else None
    _add(network, rng, patient, code, start, end, end is None or rng.random() < 0.5)


def _expiry(network: Network, rng: random.Random, start: dt.date) -> dt.date:
    """An end date after ``start``, between two years before and the middle of the year."""
    earliest = max(start + dt.timedelta(days=1), network.first_day - dt.timedelta(days=730))
    latest = network.first_day + dt.timedelta(days=180)
    return earliest + dt.timedelta(days=rng.randint(0, max(0, (latest - earliest).days)))


def _birthday(born: dt.date, years: int) -> dt.date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February
        return dt.date(born.year + years, 3, 1)


def _add(
    network: Network,
    rng: random.Random,
    patient: Patient,
    code: str,
    start: dt.date,
    end: dt.date | None,
    active: bool,
) -> None:
    if code == "SPOUSE":
        gender = rng.choice(("female", "male"))
        code = "WIFE" if gender == "female" else "HUSB"
    else:
        wanted = vocab.RELATIONSHIPS[code][1]
        gender = {"F": "female", "M": "male"}.get(wanted) or rng.choice(("female", "male"))
    family = patient.family if code != "FRND" and rng.random() < 0.75 else rng.choice(vocab.FAMILY)
    network.representatives.append(
        Representative(
            index=len(network.representatives),
            patient=patient.index,
            given=rng.choice(vocab.FEMALE_GIVEN if gender == "female" else vocab.MALE_GIVEN),
            family=family,
            gender=gender,
            relationship=code,
            start=start,
            end=end,
            active=active,
        )
    )

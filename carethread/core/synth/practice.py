"""Practices (TINs), their locations and their people (clinicians with NPIs, non-provider staff)."""

from __future__ import annotations

import random
import re
import zoneinfo

from carethread.core.synth import vocab
from carethread.core.synth.network import (
    CLINICIAN,
    POS_EMERGENCY,
    POS_INPATIENT,
    POS_OFFICE,
    STAFF,
    Location,
    Network,
    Organization,
    Practitioner,
)
from carethread.core.validators import npi_check_digit

PATIENTS_PER_ORGANIZATION = 4000
MIN_ORGANIZATIONS = 3
PATIENTS_PER_CLINICIAN = (1500, 2000)
MIN_CLINICIANS_PER_ORGANIZATION = 3
TWO_TIN_SHARE = 0.10
CLINICIAN_TITLE_WEIGHTS = (4, 2, 1, 2, 1)


def organization_count(patients: int) -> int:
    return max(MIN_ORGANIZATIONS, round(patients / PATIENTS_PER_ORGANIZATION))


def add_organizations(network: Network, count: int) -> None:
    """``count`` practices in a few states, each with 2-5 locations; the network as a whole has
    offices, telehealth, inpatient (POS 21) and emergency-room (POS 23) locations."""
    rng = network.rng("organizations")
    states = rng.sample(vocab.STATES, min(len(vocab.STATES), 2 + count // 5))
    combos = [(place, kind) for place in vocab.PLACES for kind in vocab.PRACTICE_KINDS]
    rng.shuffle(combos)
    tins: set[str] = set()
    names: set[str] = set()
    plans: list[list[str]] = []
    for index in range(count):
        state = states[index] if index < len(states) else rng.choice(states)
        place, kind = combos[index % len(combos)]
        name = f"{place} {kind}"
        if name in names:
            name = f"{name} of {rng.choice(state.counties)} County"
        while name in names:
            name = f"{name} {len(names)}"
        names.add(name)
        org = Organization(
            index=index,
            tin=_unique_tin(rng, tins),
            name=name,
            domain=f"{_slug(name)}.example.org",
            state=state,
            zone=zoneinfo.ZoneInfo(state.time_zone),
        )
        network.organizations.append(org)
        plans.append(_location_plan(rng))
    _ensure_pos(plans, POS_INPATIENT, 0)
    _ensure_pos(plans, POS_EMERGENCY, 1 % count)
    for org, plan in zip(network.organizations, plans, strict=True):
        _add_locations(network, rng, org, plan)


def _unique_tin(rng: random.Random, taken: set[str]) -> str:
    while True:
        tin = f"{rng.choice(vocab.EIN_PREFIXES)}{rng.randrange(10**7):07d}"
        if tin not in taken:
            taken.add(tin)
            return tin


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _location_plan(rng: random.Random) -> list[str]:
    """Place-of-service codes of one practice's locations: an office first, often telehealth."""
    size = rng.randint(2, 5)
    plan = [POS_OFFICE]
    plan.append(rng.choice(("02", "10")) if rng.random() < 0.6 else POS_OFFICE)
    while len(plan) < size:
        pos = rng.choices((POS_OFFICE, POS_INPATIENT, POS_EMERGENCY), weights=(2, 1, 1))[0]
        plan.append(POS_OFFICE if pos in plan and pos != POS_OFFICE else pos)
    return plan


def _ensure_pos(plans: list[list[str]], pos: str, org: int) -> None:
    if any(pos in plan for plan in plans):
        return
    plan = plans[org]
    if len(plan) < 5:
        plan.append(pos)
    else:
        plan[-1] = pos


def _add_locations(
    network: Network, rng: random.Random, org: Organization, plan: list[str]
) -> None:
    home_county = rng.choice(org.state.counties)
    hospital = rng.choice(vocab.HOSPITALS)
    for pos in plan:
        county = home_county if rng.random() < 0.7 else rng.choice(org.state.counties)
        street = rng.choice(vocab.STREETS)
        line = f"{rng.randint(10, 9999)} {street}"
        if pos == POS_OFFICE:
            name = f"{org.name} - {street}"
        elif pos == POS_INPATIENT:
            name, county = f"{hospital} Hospital - Inpatient Unit", home_county
        elif pos == POS_EMERGENCY:
            name, county = f"{hospital} Hospital - Emergency Department", home_county
        else:
            name, line = f"{org.name} Telehealth", ""
        location = Location(len(network.locations), org.index, name, pos, county, line)
        network.locations.append(location)
        org.locations.append(location.index)


def add_practitioners(network: Network, panel_sizes: list[int]) -> None:
    """Clinicians (about one per 1,500-2,000 patients, at least three per practice; ~10% also
    in a second practice) and non-provider staff (nurses, medical assistants, front desk)."""
    rng = network.rng("practitioners")
    npis: set[str] = set()
    emails: set[str] = set()
    for org, size in zip(network.organizations, panel_sizes, strict=True):
        clinicians = max(
            MIN_CLINICIANS_PER_ORGANIZATION, round(size / rng.uniform(*PATIENTS_PER_CLINICIAN))
        )
        for _ in range(clinicians):
            title, prefix = rng.choices(vocab.CLINICIAN_TITLES, weights=CLINICIAN_TITLE_WEIGHTS)[0]
            person = _new_practitioner(
                network, rng, org, title, prefix, _unique_npi(rng, npis), emails
            )
            person.roles.append((org.index, CLINICIAN))
            org.clinicians.append(person.index)
        for _ in range(max(2, round(clinicians * rng.uniform(1.0, 2.0)))):
            title, _share, npi_share = rng.choices(
                vocab.STAFF_KINDS, weights=[kind[1] for kind in vocab.STAFF_KINDS]
            )[0]
            npi = _unique_npi(rng, npis) if rng.random() < npi_share else None
            person = _new_practitioner(network, rng, org, title, "", npi, emails)
            person.roles.append((org.index, STAFF))
            org.staff.append(person.index)
    _add_second_practices(network, rng)


def _add_second_practices(network: Network, rng: random.Random) -> None:
    clinicians = [p.index for p in network.practitioners if p.is_clinician]
    chosen = sorted(rng.sample(clinicians, max(1, round(len(clinicians) * TWO_TIN_SHARE))))
    for index in chosen:
        person = network.practitioners[index]
        home = network.organizations[person.roles[0][0]]
        others = [o for o in network.organizations if o.index != home.index]
        nearby = [o for o in others if o.state == home.state]
        second = rng.choice(nearby or others)
        person.roles.append((second.index, CLINICIAN))
        second.clinicians.append(index)


def _new_practitioner(
    network: Network,
    rng: random.Random,
    org: Organization,
    title: str,
    prefix: str,
    npi: str | None,
    emails: set[str],
) -> Practitioner:
    gender = rng.choice(("female", "male"))
    given = rng.choice(vocab.FEMALE_GIVEN if gender == "female" else vocab.MALE_GIVEN)
    family = rng.choice(vocab.FAMILY)
    mailbox = re.sub(r"[^a-z0-9.]", "", f"{given}.{family}".lower())
    email, number = f"{mailbox}@{org.domain}", 1
    while email in emails:
        number += 1
        email = f"{mailbox}{number}@{org.domain}"
    emails.add(email)
    person = Practitioner(
        index=len(network.practitioners),
        npi=npi,
        prefix=prefix,
        given=given,
        family=family,
        gender=gender,
        email=email,
        title=title,
    )
    network.practitioners.append(person)
    return person


def _unique_npi(rng: random.Random, taken: set[str]) -> str:
    while True:
        first_nine = f"1{rng.randrange(10**8):08d}"
        if first_nine not in taken:
            taken.add(first_nine)
            return first_nine + npi_check_digit(first_nine)

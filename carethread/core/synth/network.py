"""The generated practice network: what the writers render as FHIR and what later generators
(e.g. message history) build on.

Small populations (organisations, locations, practitioners) are plain objects. Patients are slim
slotted objects whose email and identifiers are derived on demand. Encounters, the largest
population, are kept column-wise in compact arrays (``EncounterLog``), about 20 bytes each.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from carethread.core.synth.vocab import State

CLINICIAN = "clinician"
STAFF = "staff"

POS_OFFICE = "11"
POS_TELEHEALTH = ("02", "10")
POS_INPATIENT = "21"
POS_EMERGENCY = "23"

# Encounter class (v3 ActCode) by place of service.
CLASS_BY_POS = {"11": "AMB", "02": "VR", "10": "VR", "21": "IMP", "23": "EMER"}

STATUSES = ("finished", "cancelled", "entered-in-error")
FINISHED, CANCELLED, ENTERED_IN_ERROR = range(3)


@dataclass(slots=True)
class Organization:
    index: int
    tin: str
    name: str
    domain: str  # e-mail domain of the practice's staff (under example.org)
    state: State
    zone: zoneinfo.ZoneInfo
    locations: list[int] = field(default_factory=list)
    clinicians: list[int] = field(default_factory=list)  # practitioners with a clinician role here
    staff: list[int] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"org-{self.index + 1:03d}"

    def locations_with(self, network: Network, *pos_codes: str) -> list[int]:
        return [i for i in self.locations if network.locations[i].pos in pos_codes]


@dataclass(slots=True)
class Location:
    index: int
    organization: int
    name: str
    pos: str
    county: str
    line: str

    @property
    def id(self) -> str:
        return f"loc-{self.index + 1:04d}"

    @property
    def class_code(self) -> str:
        return CLASS_BY_POS[self.pos]


@dataclass(slots=True)
class Practitioner:
    index: int
    npi: str | None
    prefix: str
    given: str
    family: str
    gender: str
    email: str
    title: str
    roles: list[tuple[int, str]] = field(default_factory=list)  # (organization index, role)

    @property
    def id(self) -> str:
        return f"pr-{self.index + 1:05d}"

    @property
    def is_clinician(self) -> bool:
        return any(role == CLINICIAN for _org, role in self.roles)


@dataclass(slots=True)
class Patient:
    index: int
    organization: int
    clinician: int  # primary clinician (practitioner index)
    office: int  # usual office location (location index)
    given: str
    family: str
    gender: str
    birth_date: dt.date
    email_domain: str  # "" when the patient has no e-mail address
    active: bool

    @property
    def id(self) -> str:
        return f"pt-{self.index + 1:07d}"

    @property
    def mrn(self) -> str:
        return f"MRN{self.index + 1:08d}"

    @property
    def email(self) -> str:
        if not self.email_domain:
            return ""
        return f"{_mailbox(self.given, self.family)}{self.index + 1}@{self.email_domain}"


@dataclass(slots=True)
class Representative:
    index: int
    patient: int
    given: str
    family: str
    gender: str
    relationship: str  # v3 RoleCode
    start: dt.date
    end: dt.date | None
    active: bool

    @property
    def id(self) -> str:
        return f"rp-{self.index + 1:06d}"

    @property
    def email(self) -> str:
        return f"{_mailbox(self.given, self.family)}.rp{self.index + 1}@example.org"


class Encounter(NamedTuple):
    ordinal: int  # position in the log
    patient: int
    location: int
    clinician: int
    second: int  # a second participant (practitioner index) or -1
    day: int  # day of the year, 0-based
    minute: int  # minute of the local day
    status: int  # index into STATUSES

    @property
    def id(self) -> str:
        return f"enc-{self.ordinal + 1:08d}"


class EncounterLog:
    """Every encounter of the year, column-wise; per patient in time order."""

    def __init__(self) -> None:
        self.patient = array("I")
        self.location = array("I")
        self.clinician = array("I")
        self.second = array("i")
        self.day = array("H")
        self.minute = array("H")
        self.status = array("B")

    def append(
        self,
        patient: int,
        location: int,
        clinician: int,
        second: int,
        day: int,
        minute: int,
        status: int,
    ) -> None:
        self.patient.append(patient)
        self.location.append(location)
        self.clinician.append(clinician)
        self.second.append(second)
        self.day.append(day)
        self.minute.append(minute)
        self.status.append(status)

    def __len__(self) -> int:
        return len(self.patient)

    def __getitem__(self, i: int) -> Encounter:
        return Encounter(
            i,
            self.patient[i],
            self.location[i],
            self.clinician[i],
            self.second[i],
            self.day[i],
            self.minute[i],
            self.status[i],
        )

    def __iter__(self) -> Iterator[Encounter]:
        columns = zip(
            self.patient,
            self.location,
            self.clinician,
            self.second,
            self.day,
            self.minute,
            self.status,
            strict=True,
        )
        for i, row in enumerate(columns):
            yield Encounter(i, *row)


@dataclass
class Network:
    seed: int
    year: int
    organizations: list[Organization] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    practitioners: list[Practitioner] = field(default_factory=list)
    patients: list[Patient] = field(default_factory=list)
    representatives: list[Representative] = field(default_factory=list)
    encounters: EncounterLog = field(default_factory=EncounterLog)

    def rng(self, stream: str) -> random.Random:
        """An independent random stream per generation step, so adding a step (or a writer)
        never changes what the others produce."""
        return random.Random(f"carethread-synth:{self.seed}:{stream}")

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 1, 1)

    @property
    def days_in_year(self) -> int:
        return (dt.date(self.year + 1, 1, 1) - self.first_day).days

    def zone_of_location(self, location: int) -> zoneinfo.ZoneInfo:
        return self.organizations[self.locations[location].organization].zone

    def encounter_start(self, encounter: Encounter) -> dt.datetime:
        """The encounter's start as an aware datetime in the practice's time zone."""
        day = self.first_day + dt.timedelta(days=encounter.day)
        hour, minute = divmod(encounter.minute, 60)
        return dt.datetime.combine(
            day, dt.time(hour, minute), tzinfo=self.zone_of_location(encounter.location)
        )


def _mailbox(given: str, family: str) -> str:
    return "".join(c for c in f"{given}.{family}".lower() if c.isalnum() or c == ".")

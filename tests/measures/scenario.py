"""Readable measure scenarios, built through the real FHIR importer.

A ``Scenario`` collects FHIR resources under short keys ("drA", "pat", "riverside") and imports
them in one call, so a test reads like the story it pins::

    s = Scenario()
    s.practice("riverside")
    s.clinician("drA", "riverside")
    s.patient("pat", "riverside")
    s.visit("drA", "pat", "2018-03-02")
    s.message("q1", "pat", to=["drA"], on="2018-03-03")
    s.message("r1", "drA", to=["pat"], on="2018-03-04", reply_to="q1")
    s.load()
    doc = measure("pi-2018", "2018-01-01", "2018-12-31")
    assert why(doc, "PAT", npi=s.npi("drA")) == (True, "clinician-replied", ["r1"])

Times are local to ``settings.TIME_ZONE`` (CARETHREAD_TIME_ZONE) unless an instant with an
offset is given; every message's identifier is its key, so evidence reads as the story does.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from carethread.accounts import actions as accounts
from carethread.core.fhir_import import import_resources
from carethread.core.models import Patient
from carethread.core.validators import npi_check_digit
from carethread.measures import engine, request
from carethread.measures.report import PatientLine, Reading, Report, ResultRow

TIN_SYSTEM = "urn:oid:2.16.840.1.113883.4.4"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
POS_SYSTEM = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
ROLE_SYSTEM = "urn:carethread:role"
ON_BEHALF_OF = "urn:carethread:on-behalf-of"
PASSWORD = "correct-horse-battery-42"

Resource = dict[str, Any]


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local(day: str, time: str = "09:00:00") -> str:
    """The FHIR instant of a local wall-clock time on ``day`` (offset of that moment)."""
    if len(time) == 5:
        time += ":00"
    moment = dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=zone())
    return moment.isoformat()


def instant(when: str, default_time: str) -> str:
    """``when`` as given when it already is an instant, else a local day at ``default_time``."""
    return when if "T" in when else local(when, default_time)


def ref(kind: str, key: str) -> dict[str, str]:
    return {"reference": f"{kind}/{key}"}


class Scenario:
    """People, visits and messages of one story; ``load()`` imports them all at once."""

    def __init__(self) -> None:
        self.resources: list[Resource] = []
        self.kinds: dict[str, str] = {}
        self.tins: dict[str, str] = {}
        self.npis: dict[str, str] = {}
        self.mrns: dict[str, str] = {}
        self.practices_of: dict[str, list[str]] = {}
        self._tin_numbers = itertools.count(10)
        self._npi_numbers = itertools.count(100)

    # -- people and places ----------------------------------------------------------------------

    def _add(self, kind: str, key: str, resource: Resource) -> str:
        assert key not in self.kinds, f"{key} is used twice"
        self.kinds[key] = kind
        self.resources.append({"resourceType": kind, "id": key, **resource})
        return key

    def practice(self, key: str, tin: str | None = None) -> str:
        tin = tin or f"2712345{next(self._tin_numbers):02d}"
        self.tins[key] = tin
        return self._add(
            "Organization",
            key,
            {"identifier": [{"system": TIN_SYSTEM, "value": tin}], "name": key.title()},
        )

    def location(
        self, key: str, practice: str, pos: str = "11", *, state: str = "", county: str = ""
    ) -> str:
        resource: Resource = {
            "name": key,
            "type": [{"coding": [{"system": POS_SYSTEM, "code": pos}]}],
            "managingOrganization": ref("Organization", practice),
        }
        if state or county:
            resource["address"] = {"state": state, "district": county}
        return self._add("Location", key, resource)

    def _practitioner(
        self, key: str, practices: tuple[str, ...], role: str, npi: bool, first_nine: str = ""
    ) -> str:
        resource: Resource = {"name": [{"family": key, "given": ["Dr" if npi else "Staff"]}]}
        if npi:
            first_nine = first_nine or f"1{next(self._npi_numbers):08d}"
            self.npis[key] = first_nine + npi_check_digit(first_nine)
            resource["identifier"] = [{"system": NPI_SYSTEM, "value": self.npis[key]}]
        self._add("Practitioner", key, resource)
        self.practices_of[key] = list(practices)
        for practice in practices:
            self.resources.append(
                {
                    "resourceType": "PractitionerRole",
                    "id": f"{key}-at-{practice}",
                    "practitioner": ref("Practitioner", key),
                    "organization": ref("Organization", practice),
                    "code": [{"coding": [{"system": ROLE_SYSTEM, "code": role}]}],
                }
            )
        return key

    def clinician(self, key: str, *practices: str, npi: str = "") -> str:
        """A clinician with an NPI (``npi``: its first nine digits, else the next of a
        sequence), a member (role clinician) of each practice."""
        return self._practitioner(key, practices, "clinician", npi=True, first_nine=npi)

    def staff(self, key: str, *practices: str, npi: str | bool = False) -> str:
        """Non-provider staff, a member (role staff) of each practice; without an NPI unless
        ``npi`` is true (or the NPI's first nine digits): a nurse may hold one."""
        first_nine = npi if isinstance(npi, str) else ""
        return self._practitioner(key, practices, "staff", npi=bool(npi), first_nine=first_nine)

    def patient(self, key: str, practice: str | None = None, *, mrn: str | None = None) -> str:
        self.mrns[key] = mrn or key.upper()
        resource: Resource = {
            "identifier": [{"system": "urn:example:mrn", "value": self.mrns[key]}],
            "name": [{"family": key.title(), "given": ["Pat"]}],
            "birthDate": "1980-01-02",
        }
        if practice:
            resource["managingOrganization"] = ref("Organization", practice)
        return self._add("Patient", key, resource)

    def representative(
        self, key: str, of: str, *, start: str = "2010-01-01", end: str | None = None
    ) -> str:
        """A representative of patient ``of``, authorised from ``start`` to ``end`` (FHIR
        dateTimes: a year, a month, a day or an instant; a partial start begins at its first
        local instant, a partial end covers its whole local year, month or day)."""
        period = {"start": start, **({"end": end} if end else {})}
        return self._add(
            "RelatedPerson",
            key,
            {
                "active": True,
                "patient": ref("Patient", of),
                "name": [{"family": key.title(), "given": ["Jane"]}],
                "relationship": [{"coding": [{"code": "MTH"}]}],
                "period": period,
            },
        )

    def pool(self, key: str, practice: str, members: list[str]) -> str:
        return self._add(
            "Group",
            key,
            {
                "type": "practitioner",
                "actual": True,
                "name": key.title(),
                "managingEntity": ref("Organization", practice),
                "member": [{"entity": ref("Practitioner", m)} for m in members],
            },
        )

    # -- visits and messages --------------------------------------------------------------------

    def visit(
        self,
        clinicians: str | list[str],
        patient: str,
        on: str,
        *,
        at: str | None = None,
        location: str | None = None,
        status: str = "finished",
        klass: str = "AMB",
        key: str | None = None,
    ) -> str:
        """``clinicians`` saw ``patient`` ``on`` a local day (09:00) or at an instant, for
        practice ``at`` (default: the first clinician's first practice)."""
        who = [clinicians] if isinstance(clinicians, str) else clinicians
        practice = at or self.practices_of[who[0]][0]
        key = key or f"enc-{len(self.resources)}"
        resource: Resource = {
            "status": status,
            "class": {"code": klass},
            "subject": ref("Patient", patient),
            "participant": [{"individual": ref("Practitioner", c)} for c in who],
            "period": {"start": instant(on, "09:00:00")},
            "serviceProvider": ref("Organization", practice),
        }
        if location:
            resource["location"] = [{"location": ref("Location", location)}]
        return self._add("Encounter", key, resource)

    def message(
        self,
        key: str,
        sender: str | None,
        *,
        to: list[str],
        on: str | None,
        about: str | None = None,
        reply_to: str | None = None,
        on_behalf_of: str | None = None,
        status: str = "completed",
        topic: str | None = None,
    ) -> str:
        """A historical message ``key`` (also its identifier) from ``sender`` to ``to``, sent
        ``on`` a local day (10:00) or at an instant; about the patient among the parties unless
        ``about`` names one."""
        parties = [p for p in [sender, *to] if p is not None]
        if about is None:
            patients = [p for p in parties if self.kinds[p] == "Patient"]
            patients += [self._represented[p] for p in parties if p in self._represented]
            assert patients, f"message {key}: say which patient it is about"
            about = patients[0]
        resource: Resource = {
            "status": status,
            "identifier": [{"system": "urn:example:messages", "value": key}],
            "subject": ref("Patient", about),
            "recipient": [ref(self.kinds[r], r) for r in to],
            "payload": [{"contentString": f"Message {key}."}],
        }
        if sender is not None:
            resource["sender"] = ref(self.kinds[sender], sender)
        if on is not None:
            resource["sent"] = instant(on, "10:00:00")
        if reply_to:
            resource["inResponseTo"] = [ref("Communication", reply_to)]
        if on_behalf_of:
            resource["extension"] = [
                {"url": ON_BEHALF_OF, "valueReference": ref("Practitioner", on_behalf_of)}
            ]
        if topic:
            resource["topic"] = {"text": topic}
        return self._add("Communication", key, resource)

    @property
    def _represented(self) -> dict[str, str]:
        return {
            r["id"]: r["patient"]["reference"].split("/")[1]
            for r in self.resources
            if r["resourceType"] == "RelatedPerson"
        }

    # -- loading and identities -----------------------------------------------------------------

    def load(self) -> Scenario:
        import_resources(self.resources)
        return self

    def tin(self, practice: str) -> str:
        return self.tins[practice]

    def npi(self, clinician: str) -> str:
        return self.npis[clinician]

    def mrn(self, patient: str) -> str:
        return self.mrns[patient]

    def enrol(self, patient: str) -> None:
        """Give the (imported) patient a portal login."""
        row = Patient.objects.get(mrn=self.mrns[patient])
        accounts.create_user(f"{patient.lower()}@example.com", PASSWORD, patient=row)

    def block(self, patient: str) -> None:
        """Enrol the patient, then block their portal access."""
        self.enrol(patient)
        row = Patient.objects.select_related("user").get(mrn=self.mrns[patient])
        accounts.block_portal_access(row.user, actor=None, reason_code="misuse")


def clinic() -> Scenario:
    """Riverside (one office, POS 11) with Dr A and Dr B, staff Sam, and patient Pat (MRN PAT)."""
    s = Scenario()
    s.practice("riverside")
    s.location("office", "riverside", "11")
    s.clinician("drA", "riverside")
    s.clinician("drB", "riverside")
    s.staff("sam", "riverside")
    s.patient("pat", "riverside")
    return s


# -- computing and reading reports ----------------------------------------------------------------


def measure(
    program: str,
    start: str,
    end: str,
    *,
    level: str | None = None,
    tin: str | None = None,
    npi: str | None = None,
    policies: tuple[str, ...] | list[str] = (),
    patients: bool = True,
    low_broadband_csv: str | None = None,
) -> Report:
    """The engine's reference document for a request parsed from strings, as the CLI does."""
    return engine.compute(
        request.parse(
            request.RequestInput(
                program=program,
                start=start,
                end=end,
                level=level,
                tin=tin,
                npi=npi,
                policies=list(policies),
                patients=patients,
                low_broadband_csv=low_broadband_csv,
            )
        )
    )


def row(doc: Report, *, tin: str | None = None, npi: str | None = None) -> ResultRow:
    """The one result row for (tin, npi); a None key is not compared (unless both are None)."""
    found = [
        r
        for r in doc["results"]
        if (tin is None or r["tin"] == tin) and (npi is None or r["npi"] == npi)
    ]
    assert len(found) == 1, f"{len(found)} rows for tin={tin} npi={npi}: {doc['results']}"
    return found[0]


def patient_line(result: ResultRow, mrn: str) -> PatientLine:
    found = [p for p in result["patients"] if p["patient"] == mrn]
    assert len(found) == 1, f"{mrn} is not listed once in {result['patients']}"
    return found[0]


def why(
    doc: Report, mrn: str, *, tin: str | None = None, npi: str | None = None
) -> tuple[bool, str, list[str]]:
    """(in_numerator, reason, sorted evidence) of a denominator patient of one row."""
    line = patient_line(row(doc, tin=tin, npi=npi), mrn)
    return line["in_numerator"], line["reason"], sorted(line["evidence"])


def denominator(result: ResultRow) -> list[str]:
    return [p["patient"] for p in result["patients"]]


def numerator(result: ResultRow) -> list[str]:
    return [p["patient"] for p in result["patients"] if p["in_numerator"]]


def reading(result: ResultRow, actors: str, halo: bool) -> Reading:
    """The row's reading under one actors x halo combination."""
    found = [r for r in result["readings"] if r["actors"] == actors and r["halo"] is halo]
    assert len(found) == 1, f"no single reading {actors}/{halo}: {result['readings']}"
    return found[0]


# -- live messages (build_world's practice, messages sent now) ------------------------------------

WORLD_TIN = "271234567"  # Riverside in support.world
WORLD_C1_NPI = "1234567893"  # c1, the only clinician with an NPI there


def live_measure(program: str = "pi-2018", **options: Any) -> Report:
    """A report over the last 60 days and tomorrow: build_world's visits (30 days ago) and
    every message a test sends now fall inside it."""
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=60), today + dt.timedelta(days=1)
    return measure(program, start.isoformat(), end.isoformat(), **options)

"""The demo practice: a small, fixed network of two practices, their people and a year of visits.

Built as FHIR R4 resources and loaded through the importer, exactly like a real practice's data.
Visit dates are relative to the day the demo is seeded so that the current year has activity.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from carethread.core import fhir_systems
from carethread.core.validators import npi_check_digit

DEMO_PASSWORD = "carethread-demo-2026"  # noqa: S105 - printed by `make demo` on purpose
DEMO_TIN = "271234567"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    who: str
    kind: str  # practice | patient | representative


def npi(first_nine: str) -> str:
    return first_nine + npi_check_digit(first_nine)


ORGS = [
    ("org-riverside", DEMO_TIN, "Riverside Family Medicine"),
    ("org-lakeside", "271234568", "Lakeside Pediatrics"),
]
LOCATIONS = [
    ("loc-main", "org-riverside", "Riverside Main Clinic", "11", "MA", "Middlesex"),
    ("loc-tele", "org-riverside", "Riverside Telehealth", "10", "MA", "Middlesex"),
    ("loc-ward", "org-riverside", "St. Anne Hospital, ward 3", "21", "MA", "Middlesex"),
    ("loc-er", "org-riverside", "St. Anne Hospital, emergency", "23", "MA", "Middlesex"),
    ("loc-lake", "org-lakeside", "Lakeside Pediatrics Office", "11", "NH", "Hillsborough"),
]
# id, NPI (first nine), prefix, given, family, email, memberships [(org, role)]
PRACTITIONERS = [
    (
        "pr-rivera",
        "123456789",
        "Dr.",
        "Ana",
        "Rivera",
        "ana.rivera@riverside.example.org",
        [("org-riverside", "clinician")],
    ),
    (
        "pr-chen",
        "123456790",
        "Dr.",
        "Ben",
        "Chen",
        "ben.chen@riverside.example.org",
        [("org-riverside", "clinician"), ("org-lakeside", "clinician")],
    ),
    (
        "pr-park",
        "123456791",
        "Dr.",
        "Lena",
        "Park",
        "lena.park@lakeside.example.org",
        [("org-lakeside", "clinician")],
    ),
    (
        "pr-okafor",
        None,
        "",
        "Grace",
        "Okafor",
        "grace.okafor@riverside.example.org",
        [("org-riverside", "staff")],
    ),
    (
        "pr-baker",
        None,
        "",
        "Tom",
        "Baker",
        "tom.baker@riverside.example.org",
        [("org-riverside", "staff")],
    ),
]
# id, MRN, given, family, birth date, email, primary clinician, org
PATIENTS = [
    (
        "pt-lopez",
        "RFM-1001",
        "Maria",
        "Lopez",
        "1979-04-12",
        "maria.lopez@example.com",
        "pr-rivera",
        "org-riverside",
    ),
    (
        "pt-smith",
        "RFM-1002",
        "Robert",
        "Smith",
        "1948-11-02",
        "robert.smith@example.com",
        "pr-rivera",
        "org-riverside",
    ),
    (
        "pt-khan",
        "RFM-1003",
        "Aisha",
        "Khan",
        "1990-07-23",
        "aisha.khan@example.com",
        "pr-chen",
        "org-riverside",
    ),
    (
        "pt-zhang",
        "RFM-1004",
        "Wei",
        "Zhang",
        "1965-02-14",
        "wei.zhang@example.com",
        "pr-chen",
        "org-riverside",
    ),
    (
        "pt-brown",
        "RFM-1005",
        "Olivia",
        "Brown",
        "1986-09-30",
        "olivia.brown@example.com",
        "pr-rivera",
        "org-riverside",
    ),
    ("pt-doe", "LKP-2001", "Sam", "Doe", "2016-05-05", "", "pr-park", "org-lakeside"),
    ("pt-nguyen", "LKP-2002", "Linh", "Nguyen", "2012-01-19", "", "pr-chen", "org-lakeside"),
]
REPRESENTATIVE = ("rp-jane-doe", "pt-doe", "Jane", "Doe", "jane.doe@example.com", "MTH")

LOGINS = [
    DemoLogin(
        "ana.rivera@riverside.example.org",
        "Dr. Ana Rivera, clinician and practice admin",
        "practice",
    ),
    DemoLogin(
        "ben.chen@riverside.example.org", "Dr. Ben Chen, clinician in both practices", "practice"
    ),
    DemoLogin("grace.okafor@riverside.example.org", "Grace Okafor, nurse (staff)", "practice"),
    DemoLogin("maria.lopez@example.com", "Maria Lopez, patient", "patient"),
    DemoLogin("robert.smith@example.com", "Robert Smith, patient", "patient"),
    DemoLogin("jane.doe@example.com", "Jane Doe, representative of Sam Doe", "representative"),
]


def _ref(kind: str, ident: str) -> dict[str, str]:
    return {"reference": f"{kind}/{ident}"}


def resources(today: dt.date) -> list[dict[str, Any]]:
    """Every FHIR resource of the demo network; visits fall in the 15 months before ``today``."""
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    out: list[dict[str, Any]] = []
    for ident, tin, name in ORGS:
        out.append(
            {
                "resourceType": "Organization",
                "id": ident,
                "name": name,
                "identifier": [{"system": fhir_systems.TIN_SYSTEM, "value": tin}],
            }
        )
    for ident, org, name, pos, state, county in LOCATIONS:
        out.append(
            {
                "resourceType": "Location",
                "id": ident,
                "name": name,
                "type": [{"coding": [{"system": fhir_systems.POS_SYSTEM, "code": pos}]}],
                "address": {"state": state, "district": county},
                "managingOrganization": _ref("Organization", org),
            }
        )
    for ident, first_nine, prefix, given, family, email, memberships in PRACTITIONERS:
        practitioner: dict[str, Any] = {
            "resourceType": "Practitioner",
            "id": ident,
            "name": [
                {"family": family, "given": [given], **({"prefix": [prefix]} if prefix else {})}
            ],
            "telecom": [{"system": "email", "value": email}],
        }
        if first_nine:
            practitioner["identifier"] = [
                {"system": fhir_systems.NPI_SYSTEM, "value": npi(first_nine)}
            ]
        out.append(practitioner)
        for org, role in memberships:
            out.append(
                {
                    "resourceType": "PractitionerRole",
                    "id": f"{ident}-{org}",
                    "practitioner": _ref("Practitioner", ident),
                    "organization": _ref("Organization", org),
                    "code": [{"coding": [{"system": fhir_systems.ROLE_SYSTEM, "code": role}]}],
                }
            )
    for ident, mrn, given, family, birth, email, _clinician, _org in PATIENTS:
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": ident,
            "active": True,
            "identifier": [{"system": "urn:carethread:demo:mrn", "value": mrn}],
            "name": [{"family": family, "given": [given]}],
            "birthDate": birth,
        }
        if email:
            patient["telecom"] = [{"system": "email", "value": email}]
        out.append(patient)
    rep_id, rep_patient, given, family, email, relationship = REPRESENTATIVE
    out.append(
        {
            "resourceType": "RelatedPerson",
            "id": rep_id,
            "active": True,
            "patient": _ref("Patient", rep_patient),
            "name": [{"family": family, "given": [given]}],
            "telecom": [{"system": "email", "value": email}],
            "relationship": [
                {"coding": [{"system": fhir_systems.ROLE_CODE_SYSTEM, "code": relationship}]}
            ],
            "period": {"start": "2016-05-05"},
        }
    )
    out.extend(_encounters(today, tz))
    return out


def _encounters(today: dt.date, tz: zoneinfo.ZoneInfo) -> list[dict[str, Any]]:
    location_of = {"org-riverside": "loc-main", "org-lakeside": "loc-lake"}
    visits: list[tuple[str, str, str, str, int, str, str]] = []
    for index, (ident, _mrn, _g, _f, _b, _e, clinician, org) in enumerate(PATIENTS):
        for visit in range(1 + index % 3):
            days_ago = 20 + 97 * visit + 11 * index
            visits.append((ident, clinician, org, location_of[org], days_ago, "AMB", "finished"))
    # A telehealth visit, a hospital stay and an ER visit (POS 21/23 do not count as "seen"),
    # and a cancelled appointment.
    visits += [
        ("pt-khan", "pr-rivera", "org-riverside", "loc-tele", 45, "VR", "finished"),
        ("pt-smith", "pr-chen", "org-riverside", "loc-ward", 130, "IMP", "finished"),
        ("pt-zhang", "pr-rivera", "org-riverside", "loc-er", 75, "EMER", "finished"),
        ("pt-brown", "pr-chen", "org-riverside", "loc-main", 10, "AMB", "cancelled"),
    ]
    out = []
    for number, (patient, clinician, org, location, days_ago, klass, status) in enumerate(visits):
        day = today - dt.timedelta(days=days_ago)
        start = dt.datetime.combine(day, dt.time(9 + number % 8, 15), tzinfo=tz)
        out.append(
            {
                "resourceType": "Encounter",
                "id": f"enc-{number + 1:03d}",
                "status": status,
                "class": {"system": fhir_systems.ACT_SYSTEM, "code": klass},
                "subject": _ref("Patient", patient),
                "participant": [{"individual": _ref("Practitioner", clinician)}],
                "period": {"start": start.isoformat()},
                "serviceProvider": _ref("Organization", org),
                "location": [{"location": _ref("Location", location)}],
            }
        )
    return out


# -- message threads -------------------------------------------------------------------------------

CATEGORY_SYSTEM = "urn:carethread:message-category"
MESSAGE_SYSTEM = "urn:carethread:demo:message"
ON_BEHALF_OF = "urn:carethread:on-behalf-of"
# Care-team pools of Riverside: name, description, members.
POOLS = [
    ("Refills", "Prescription refill requests", ["pr-okafor", "pr-rivera"]),
    (
        "Front desk",
        "Appointments, billing and other administrative questions",
        ["pr-baker", "pr-okafor"],
    ),
]


@dataclass(frozen=True)
class DemoMessage:
    ident: str
    about: str  # the patient
    days_ago: int
    time: str  # local "HH:MM"
    sender: str  # "Patient/pt-lopez", ...
    recipients: tuple[str, ...]
    text: str
    subject: str = ""  # the thread's topic (first message only)
    category: str = ""
    answers: str = ""  # ident of the message this one answers
    on_behalf_of: str = ""  # practitioner id


# The demo's conversations in story order (see ``message_resources``).
MESSAGES = [
    # An answered question (Maria Lopez and Dr. Rivera).
    DemoMessage(
        "msg-01",
        "pt-lopez",
        21,
        "19:40",
        "Patient/pt-lopez",
        ("Practitioner/pr-rivera",),
        "Hello Dr. Rivera, my home blood pressure readings have been around 150/95 in the "
        "mornings this week. Should I change anything before my next appointment?",
        subject="Blood pressure readings",
        category="medical",
    ),
    DemoMessage(
        "msg-02",
        "pt-lopez",
        20,
        "08:55",
        "Practitioner/pr-rivera",
        ("Patient/pt-lopez",),
        "Hi Maria, thank you for the readings. Please keep taking your medication and log "
        "your readings for one more week; we will review them at your visit. Dr. Rivera",
        answers="msg-01",
    ),
    # A question still waiting for an answer (Robert Smith).
    DemoMessage(
        "msg-03",
        "pt-smith",
        2,
        "21:10",
        "Patient/pt-smith",
        ("Practitioner/pr-rivera",),
        "Dr. Rivera, my knee is still swollen after the fall last week. Do I need an x-ray?",
        subject="Knee still swollen",
        category="medical",
    ),
    # A proxy conversation: Jane Doe writes for her son Sam Doe; Dr. Park answers.
    DemoMessage(
        "msg-04",
        "pt-doe",
        9,
        "07:15",
        "RelatedPerson/rp-jane-doe",
        ("Practitioner/pr-park",),
        "Hello Dr. Park, Sam has had a dry cough for ten days, worse at night. No fever. "
        "Should we bring him in?",
        subject="Sam's cough",
        category="medical",
    ),
    DemoMessage(
        "msg-05",
        "pt-doe",
        8,
        "11:30",
        "Practitioner/pr-park",
        ("RelatedPerson/rp-jane-doe",),
        "Hi Jane, a lingering cough after a cold is common. Please book a visit this week so "
        "I can listen to his lungs. Dr. Park",
        answers="msg-04",
    ),
    # Clinician to clinician, with the patient included (Dr. Rivera asks Dr. Chen).
    DemoMessage(
        "msg-06",
        "pt-lopez",
        14,
        "10:05",
        "Practitioner/pr-rivera",
        ("Practitioner/pr-chen", "Patient/pt-lopez"),
        "Dr. Chen, could you review Maria's medication list before we increase her dose? "
        "Maria, I have asked Dr. Chen for a second opinion.",
        subject="Second opinion on medication",
        category="medical",
    ),
    DemoMessage(
        "msg-07",
        "pt-lopez",
        13,
        "16:20",
        "Practitioner/pr-chen",
        ("Practitioner/pr-rivera", "Patient/pt-lopez"),
        "Reviewed: the higher dose is fine with her other medications. Dr. Chen",
        answers="msg-06",
    ),
    # A message to the Refills pool, answered by a nurse of the pool.
    DemoMessage(
        "msg-08",
        "pt-lopez",
        6,
        "18:45",
        "Patient/pt-lopez",
        ("Group/pool-refills",),
        "Hello, I have five days left of my lisinopril. Could you send a refill to my pharmacy?",
        subject="Refill request",
        category="refill",
    ),
    DemoMessage(
        "msg-09",
        "pt-lopez",
        5,
        "09:10",
        "Practitioner/pr-okafor",
        ("Patient/pt-lopez",),
        "Hi Maria, the refill was sent to your pharmacy this morning. Grace (nurse)",
        answers="msg-08",
    ),
    # Staff writing on behalf of a clinician; the patient thanks them.
    DemoMessage(
        "msg-10",
        "pt-smith",
        4,
        "14:00",
        "Practitioner/pr-okafor",
        ("Patient/pt-smith",),
        "Hi Robert, your lab results from last week are normal. Dr. Rivera will go over them "
        "at your next visit. Grace Okafor, for Dr. Rivera",
        subject="Your lab results",
        category="medical",
        on_behalf_of="pr-rivera",
    ),
    DemoMessage(
        "msg-11",
        "pt-smith",
        4,
        "19:25",
        "Patient/pt-smith",
        ("Practitioner/pr-rivera",),
        "Thank you, that is good news.",
        answers="msg-10",
    ),
]


def message_resources(today: dt.date) -> list[dict[str, Any]]:
    """The pools (FHIR Group) and message threads (FHIR Communication) of the demo, sent in the
    weeks before ``today``; imported after the demo logins exist so they land in their inboxes."""
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    out: list[dict[str, Any]] = [
        {
            "resourceType": "Group",
            "id": f"pool-{name.lower().replace(' ', '-')}",
            "type": "practitioner",
            "actual": True,
            "name": name,
            "managingEntity": _ref("Organization", "org-riverside"),
            "member": [{"entity": _ref("Practitioner", m)} for m in members],
        }
        for name, _description, members in POOLS
    ]
    for number, item in enumerate(MESSAGES, start=1):
        hour, minute = (int(part) for part in item.time.split(":"))
        sent = dt.datetime.combine(
            today - dt.timedelta(days=item.days_ago), dt.time(hour, minute), tzinfo=tz
        )
        resource: dict[str, Any] = {
            "resourceType": "Communication",
            "id": item.ident,
            "identifier": [{"system": MESSAGE_SYSTEM, "value": f"DEMO-{number:03d}"}],
            "status": "completed",
            "subject": _ref("Patient", item.about),
        }
        if item.category:
            resource["category"] = [
                {"coding": [{"system": CATEGORY_SYSTEM, "code": item.category}]}
            ]
        if item.subject:
            resource["topic"] = {"text": item.subject}
        if item.answers:
            resource["inResponseTo"] = [_ref("Communication", item.answers)]
        resource.update(
            sent=sent.isoformat(),
            sender={"reference": item.sender},
            recipient=[{"reference": r} for r in item.recipients],
            payload=[{"contentString": item.text}],
        )
        if item.on_behalf_of:
            resource["extension"] = [
                {"url": ON_BEHALF_OF, "valueReference": _ref("Practitioner", item.on_behalf_of)}
            ]
        out.append(resource)
    return out

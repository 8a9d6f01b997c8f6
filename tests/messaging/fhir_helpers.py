"""FHIR resources for the Communication import tests: a small practice and message builders."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from carethread.core.validators import npi_check_digit

TIN_SYSTEM = "urn:oid:2.16.840.1.113883.4.4"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
ROLE_SYSTEM = "urn:carethread:role"
ON_BEHALF_OF = "urn:carethread:on-behalf-of"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24

Resource = dict[str, Any]


def ref(kind: str, ident: str) -> dict[str, str]:
    return {"reference": f"{kind}/{ident}"}


def npi(first_nine: str) -> str:
    return first_nine + npi_check_digit(first_nine)


def organization(ident: str, tin: str, name: str) -> Resource:
    return {
        "resourceType": "Organization",
        "id": ident,
        "identifier": [{"system": TIN_SYSTEM, "value": tin}],
        "name": name,
    }


def practitioner(
    ident: str, family: str, first_nine: str | None = None, email: str = ""
) -> Resource:
    resource: Resource = {"resourceType": "Practitioner", "id": ident, "name": [{"family": family}]}
    if first_nine:
        resource["identifier"] = [{"system": NPI_SYSTEM, "value": npi(first_nine)}]
    if email:
        resource["telecom"] = [{"system": "email", "value": email}]
    return resource


def role(ident: str, who: str, org: str, code: str = "clinician") -> Resource:
    return {
        "resourceType": "PractitionerRole",
        "id": ident,
        "practitioner": ref("Practitioner", who),
        "organization": ref("Organization", org),
        "code": [{"coding": [{"system": ROLE_SYSTEM, "code": code}]}],
    }


def patient(ident: str, mrn: str, org: str | None = None) -> Resource:
    resource: Resource = {
        "resourceType": "Patient",
        "id": ident,
        "identifier": [{"value": mrn}],
        "name": [{"family": "Lopez", "given": ["Maria"]}],
        "birthDate": "1979-04-12",
    }
    if org:
        resource["managingOrganization"] = ref("Organization", org)
    return resource


def related_person(
    ident: str, of: str, start: str = "2020-01-01", end: str | None = None
) -> Resource:
    period = {"start": start, **({"end": end} if end else {})}
    return {
        "resourceType": "RelatedPerson",
        "id": ident,
        "active": True,
        "patient": ref("Patient", of),
        "name": [{"family": "Doe", "given": ["Jane"]}],
        "period": period,
    }


def encounter(ident: str, who: str, whom: str, org: str, start: str) -> Resource:
    return {
        "resourceType": "Encounter",
        "id": ident,
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": ref("Patient", whom),
        "participant": [{"individual": ref("Practitioner", who)}],
        "period": {"start": start},
        "serviceProvider": ref("Organization", org),
    }


def pool(ident: str, org: str, name: str, members: list[str]) -> Resource:
    return {
        "resourceType": "Group",
        "id": ident,
        "type": "practitioner",
        "actual": True,
        "name": name,
        "managingEntity": ref("Organization", org),
        "member": [{"entity": ref("Practitioner", m)} for m in members],
    }


def practice() -> list[Resource]:
    """Two practices: Riverside (clinicians c1, c2 — c2 also at Lakeside — and staff s1, with
    a Refills pool) and Lakeside; patient p1 of Riverside (seen by c1) with representative rp1;
    patient p2 of Lakeside (seen there by c2), patient p3 with no practice and no visit."""
    return [
        organization("riverside", "271234567", "Riverside Family Medicine"),
        organization("lakeside", "271234568", "Lakeside Pediatrics"),
        practitioner("c1", "Rivera", "123456789", "c1@riverside.example.org"),
        practitioner("c2", "Chen", "123456790", "c2@riverside.example.org"),
        practitioner("s1", "Okafor", email="s1@riverside.example.org"),
        role("c1-riverside", "c1", "riverside"),
        role("c2-riverside", "c2", "riverside"),
        role("c2-lakeside", "c2", "lakeside"),
        role("s1-riverside", "s1", "riverside", "staff"),
        patient("p1", "RFM-1001", "riverside"),
        patient("p2", "LKP-2001", "lakeside"),
        patient("p3", "XX-3001"),
        related_person("rp1", "p1"),
        encounter("e1", "c1", "p1", "riverside", "2024-02-01T09:00:00-05:00"),
        encounter("e2", "c2", "p2", "lakeside", "2024-02-02T09:00:00-05:00"),
        pool("refills", "riverside", "Refills", ["s1", "c1"]),
    ]


def communication(
    ident: str,
    *,
    sender: str | None = "Patient/p1",
    recipients: tuple[str, ...] = ("Practitioner/c1",),
    subject: str = "p1",
    sent: str | None = "2024-03-01T10:00:00-05:00",
    status: str = "completed",
    text: str | None = "Hello, a question about my medication.",
    identifier: str | None = None,
    **extra: Any,
) -> Resource:
    resource: Resource = {"resourceType": "Communication", "id": ident, "status": status}
    if identifier is not None:
        resource["identifier"] = [{"system": "urn:example:messages", "value": identifier}]
    resource["subject"] = ref("Patient", subject)
    if sender is not None:
        resource["sender"] = {"reference": sender}
    resource["recipient"] = [{"reference": r} for r in recipients]
    if sent is not None:
        resource["sent"] = sent
    if text is not None:
        resource["payload"] = [{"contentString": text}]
    resource.update(extra)
    return resource


def on_behalf_of(who: str) -> list[Resource]:
    return [{"url": ON_BEHALF_OF, "valueReference": ref("Practitioner", who)}]


def attachment(
    data: bytes, title: str = "scan.pdf", content_type: str = "application/pdf"
) -> Resource:
    return {
        "contentAttachment": {
            "contentType": content_type,
            "title": title,
            "data": base64.b64encode(data).decode("ascii"),
        }
    }


def write_ndjson(path: Path, resources: list[Resource]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources))
    return path

"""FHIR R4 rendering of the network, one writer per resource type (docs/import.md, "Mapping").

A writer names its resource type, says how many resources it will write (for the progress bar)
and yields them as JSON-ready dicts, one at a time. A later generator adds a resource file by
appending a ``ResourceWriter`` to the list it passes to ``write_dataset``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from carethread.core import fhir_systems
from carethread.core.synth.clock import local_midnight, year_clock
from carethread.core.synth.network import STATUSES, Network
from carethread.core.synth.vocab import RELATIONSHIPS

MRN_SYSTEM = "urn:carethread:synth:mrn"
MRN_TYPE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}

Resource = dict[str, Any]


@dataclass(frozen=True)
class ResourceWriter:
    resource_type: str
    count: Callable[[Network], int | None]
    render: Callable[[Network], Iterable[Resource]]

    @property
    def filename(self) -> str:
        return f"{self.resource_type}.ndjson"


def ref(resource_type: str, ident: str) -> dict[str, str]:
    return {"reference": f"{resource_type}/{ident}"}


def _human_name(given: str, family: str, prefix: str = "") -> list[dict[str, Any]]:
    name: dict[str, Any] = {"use": "official", "family": family, "given": [given]}
    if prefix:
        name["prefix"] = [prefix]
    return [name]


def organizations(network: Network) -> Iterator[Resource]:
    for org in network.organizations:
        yield {
            "resourceType": "Organization",
            "id": org.id,
            "identifier": [{"system": fhir_systems.TIN_SYSTEM, "value": org.tin}],
            "active": True,
            "name": org.name,
            "address": [{"state": org.state.code, "country": "US"}],
        }


def locations(network: Network) -> Iterator[Resource]:
    for location in network.locations:
        org = network.organizations[location.organization]
        address: dict[str, Any] = {"state": org.state.code, "district": location.county}
        if location.line:
            address = {"line": [location.line], **address}
        yield {
            "resourceType": "Location",
            "id": location.id,
            "status": "active",
            "name": location.name,
            "type": [{"coding": [{"system": fhir_systems.POS_SYSTEM, "code": location.pos}]}],
            "address": address,
            "managingOrganization": ref("Organization", org.id),
        }


def practitioners(network: Network) -> Iterator[Resource]:
    for person in network.practitioners:
        resource: Resource = {"resourceType": "Practitioner", "id": person.id}
        if person.npi:
            resource["identifier"] = [{"system": fhir_systems.NPI_SYSTEM, "value": person.npi}]
        resource.update(
            active=True,
            name=_human_name(person.given, person.family, person.prefix),
            telecom=[{"system": "email", "value": person.email, "use": "work"}],
            gender=person.gender,
        )
        yield resource


def practitioner_roles(network: Network) -> Iterator[Resource]:
    for person in network.practitioners:
        for org_index, role in person.roles:
            org = network.organizations[org_index]
            yield {
                "resourceType": "PractitionerRole",
                "id": f"{person.id}-{org.id}",
                "active": True,
                "practitioner": ref("Practitioner", person.id),
                "organization": ref("Organization", org.id),
                "code": [
                    {
                        "coding": [{"system": fhir_systems.ROLE_SYSTEM, "code": role}],
                        "text": person.title,
                    }
                ],
            }


def patients(network: Network) -> Iterator[Resource]:
    for patient in network.patients:
        resource: Resource = {
            "resourceType": "Patient",
            "id": patient.id,
            "identifier": [{"type": MRN_TYPE, "system": MRN_SYSTEM, "value": patient.mrn}],
            "active": patient.active,
            "name": _human_name(patient.given, patient.family),
        }
        email = patient.email
        if email:
            resource["telecom"] = [{"system": "email", "value": email, "use": "home"}]
        resource["gender"] = patient.gender
        resource["birthDate"] = patient.birth_date.isoformat()
        resource["managingOrganization"] = ref(
            "Organization", network.organizations[patient.organization].id
        )
        yield resource


def related_persons(network: Network) -> Iterator[Resource]:
    for rep in network.representatives:
        patient = network.patients[rep.patient]
        zone = network.organizations[patient.organization].zone
        period = {"start": local_midnight(rep.start, zone)}
        if rep.end is not None:
            period["end"] = local_midnight(rep.end, zone)
        display = RELATIONSHIPS[rep.relationship][0]
        yield {
            "resourceType": "RelatedPerson",
            "id": rep.id,
            "active": rep.active,
            "patient": ref("Patient", patient.id),
            "relationship": [
                {
                    "coding": [
                        {
                            "system": fhir_systems.ROLE_CODE_SYSTEM,
                            "code": rep.relationship,
                            "display": display,
                        }
                    ]
                }
            ],
            "name": _human_name(rep.given, rep.family),
            "telecom": [{"system": "email", "value": rep.email, "use": "home"}],
            "gender": rep.gender,
            "period": period,
        }


def encounters(network: Network) -> Iterator[Resource]:
    clock = year_clock(network.year)
    locations = [
        (
            location.id,
            location.class_code,
            network.organizations[location.organization].id,
            network.organizations[location.organization].zone,
        )
        for location in network.locations
    ]
    practitioner_ids = [person.id for person in network.practitioners]
    patient_ids = [patient.id for patient in network.patients]
    for encounter in network.encounters:
        location_id, class_code, org_id, zone = locations[encounter.location]
        participants = [{"individual": ref("Practitioner", practitioner_ids[encounter.clinician])}]
        if encounter.second >= 0:
            participants.append(
                {"individual": ref("Practitioner", practitioner_ids[encounter.second])}
            )
        yield {
            "resourceType": "Encounter",
            "id": encounter.id,
            "status": STATUSES[encounter.status],
            "class": {"system": fhir_systems.ACT_SYSTEM, "code": class_code},
            "subject": ref("Patient", patient_ids[encounter.patient]),
            "participant": participants,
            "period": {"start": clock.stamp(zone, encounter.day, encounter.minute)},
            "serviceProvider": ref("Organization", org_id),
            "location": [{"location": ref("Location", location_id)}],
        }


def default_writers() -> list[ResourceWriter]:
    """The writers of the data set, in dependency order: the practices, their people and
    visits, then the care-team pools and the year's secure messages (``messages``)."""
    from carethread.core.synth import messages

    return [
        ResourceWriter("Organization", lambda n: len(n.organizations), organizations),
        ResourceWriter("Location", lambda n: len(n.locations), locations),
        ResourceWriter("Practitioner", lambda n: len(n.practitioners), practitioners),
        ResourceWriter(
            "PractitionerRole",
            lambda n: sum(len(p.roles) for p in n.practitioners),
            practitioner_roles,
        ),
        ResourceWriter("Patient", lambda n: len(n.patients), patients),
        ResourceWriter("RelatedPerson", lambda n: len(n.representatives), related_persons),
        ResourceWriter("Encounter", lambda n: len(n.encounters), encounters),
        ResourceWriter("Group", messages.group_count, messages.groups),
        ResourceWriter("Communication", lambda n: None, messages.communications),
    ]

"""``carethread import``: what lands where, idempotency, updates, order, audit (§3)."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from pathlib import Path

import pytest
from django.conf import settings

from carethread.audit.models import AuditEvent
from carethread.cli import main
from carethread.core.fhir_import import import_paths, import_resources
from carethread.core.models import (
    Encounter,
    Location,
    Membership,
    Organization,
    Patient,
    Practitioner,
    Representative,
)
from tests.core.import_helpers import (
    BUNDLE,
    NDJSON_DIR,
    copy_ndjson_dir,
    read_ndjson,
    run_cli,
    snapshot,
    table_counts,
    write_ndjson,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def test_bundle_maps_every_element() -> None:
    summary = import_paths([BUNDLE])

    org = Organization.objects.get()
    assert (org.tin, org.name, org.source_key) == (
        "123456789",
        "Health Level Seven International Clinic",
        "Organization/hl7",
    )
    location = Location.objects.get()
    assert (location.organization, location.name, location.pos_code) == (
        org,
        "South Wing, second floor",
        "22",
    )
    assert (location.state, location.county, location.source_key) == (
        "MI",
        "Washtenaw",
        "Location/1",
    )

    careful = Practitioner.objects.get(source_key="Practitioner/example")
    assert (careful.npi, careful.prefix, careful.given_name, careful.family_name) == (
        "1234567893",
        "Dr",
        "Adam",
        "Careful",
    )
    assert (careful.email, careful.active) == ("adam.careful@example.org", True)
    nurse = Practitioner.objects.get(source_key="Practitioner/staff-1")
    assert (nurse.npi, nurse.family_name, nurse.given_name) == (None, "Nurse", "Nora May")

    roles = {m.practitioner_id: m for m in Membership.objects.all()}
    assert (roles[careful.pk].organization, roles[careful.pk].role, roles[careful.pk].active) == (
        org,
        "clinician",
        True,
    )
    assert (roles[nurse.pk].role, roles[nurse.pk].active) == ("staff", False)

    patient = Patient.objects.get()
    assert (patient.mrn, patient.family_name, patient.given_name) == (
        "12345",
        "Chalmers",
        "Peter James",
    )
    assert (patient.birth_date, patient.email, patient.active) == (
        dt.date(1974, 12, 25),
        "peter.chalmers@example.com",
        True,
    )
    assert patient.managing_organization == org

    rep = Representative.objects.get()
    assert (rep.patient, rep.family_name, rep.given_name, rep.email, rep.relationship) == (
        patient,
        "Chalmers",
        "Peter James",
        "pj.chalmers@example.com",
        "C",
    )
    assert rep.valid_from == local_midnight(dt.date(2012, 3, 11))
    assert rep.valid_until == dt.datetime(2030, 3, 10, 16, 0, tzinfo=UTC)
    assert rep.active and rep.consent_given_at == rep.valid_from
    assert rep.is_valid_at(dt.datetime(2024, 1, 1, tzinfo=UTC))

    encounter = Encounter.objects.get()
    assert (encounter.status, encounter.class_code, encounter.patient) == (
        "finished",
        "AMB",
        patient,
    )
    assert (encounter.organization, encounter.location) == (org, location)
    assert encounter.start == dt.datetime(2023, 3, 14, 13, 30, tzinfo=UTC)
    # The RelatedPerson participant is not a practitioner: only Dr Careful is a participant.
    assert list(encounter.participants.all()) == [careful]
    assert encounter.source_key == "Encounter/example"

    assert summary.skipped == {"Observation": 1}
    assert summary.counts["Practitioner"].created == 2


def test_ndjson_directory_imports_in_any_file_order() -> None:
    # The directory is read in sorted order: Encounter.ndjson comes before Patient.ndjson.
    assert sorted(p.name for p in NDJSON_DIR.iterdir())[0] == "Encounter.ndjson"
    summary = import_paths([NDJSON_DIR])

    assert summary.files == 7
    e1 = Encounter.objects.get(source_key="Encounter/e1")
    assert sorted(e1.participants.values_list("npi", flat=True)) == ["1112223338", "9876543213"]
    assert e1.start == local_midnight(dt.date(2023, 6, 1))
    assert e1.location.pos_code == "11"
    e2 = Encounter.objects.get(source_key="Encounter/e2")
    assert (e2.status, e2.class_code, e2.location, e2.patient.mrn) == (
        "cancelled",
        "VR",
        None,
        "MRN-002",
    )
    assert Patient.objects.get(mrn="MRN-002").active is False
    rep = Representative.objects.get()
    assert rep.valid_from is None and rep.consent_given_at is not None  # authorised at import time


def test_date_only_values_are_midnight_in_the_configured_zone(settings) -> None:
    settings.TIME_ZONE = "Asia/Tokyo"
    import_paths([NDJSON_DIR])
    start = Encounter.objects.get(source_key="Encounter/e1").start
    assert start == dt.datetime(2023, 5, 31, 15, 0, tzinfo=UTC)


def test_files_given_explicitly_encounters_before_patients(tmp_path: Path, capsys) -> None:
    names = [
        "Encounter",
        "RelatedPerson",
        "Patient",
        "Location",
        "PractitionerRole",
        "Practitioner",
        "Organization",
    ]
    code, out, _err = run_cli(capsys, *(str(NDJSON_DIR / f"{n}.ndjson") for n in names))
    assert code == 0
    assert "Encounter 2 new" in out and "Patient 2 new" in out
    assert Encounter.objects.count() == 2


def test_importing_twice_changes_nothing() -> None:
    first = import_paths([BUNDLE, NDJSON_DIR])
    before = snapshot()
    second = import_paths([BUNDLE, NDJSON_DIR])

    assert snapshot() == before
    assert {t: (c.created, c.updated) for t, c in second.counts.items()} == {
        t: (0, 0) for t in first.counts
    }
    assert all(c.unchanged == first.counts[t].created for t, c in second.counts.items())


def test_changed_data_updates_the_matched_row(tmp_path: Path) -> None:
    import_paths([NDJSON_DIR])
    patient = Patient.objects.get(mrn="MRN-001")
    changed = copy_ndjson_dir(tmp_path / "changed")
    patients = read_ndjson(changed / "Patient.ndjson")
    patients[0]["name"] = [{"family": "Lopez-Garcia", "given": ["Maria"]}]
    write_ndjson(changed / "Patient.ndjson", *patients)
    encounters = read_ndjson(changed / "Encounter.ndjson")
    encounters[0]["participant"] = [{"individual": {"reference": "Practitioner/d2"}}]
    write_ndjson(changed / "Encounter.ndjson", *encounters)

    summary = import_paths([changed])

    assert (summary.counts["Patient"].updated, summary.counts["Patient"].unchanged) == (1, 1)
    assert summary.counts["Encounter"].updated == 1
    assert summary.counts["Practitioner"].updated == 0
    assert Patient.objects.count() == 2
    assert Patient.objects.get(pk=patient.pk).family_name == "Lopez-Garcia"
    e1 = Encounter.objects.get(source_key="Encounter/e1")
    assert list(e1.participants.values_list("npi", flat=True)) == ["1112223338"]


def test_matched_by_business_identifier_across_sources(tmp_path: Path) -> None:
    import_paths([NDJSON_DIR])
    # Another EHR calls the same clinician (same NPI) and patient (same MRN) differently.
    other = write_ndjson(
        tmp_path / "other.ndjson",
        {
            "resourceType": "Practitioner",
            "id": "ehr2-77",
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "9876543213"}],
            "name": [{"family": "Rivera-Diaz", "given": ["Ana"]}],
        },
        {
            "resourceType": "Patient",
            "id": "ehr2-pt",
            "identifier": [{"value": "MRN-001"}],
            "name": [{"family": "Lopez", "given": ["Maria"]}],
            "birthDate": "1979-04-12",
        },
    )
    summary = import_paths([other])
    assert summary.counts["Practitioner"].updated == 1
    assert Practitioner.objects.count() == 2
    rivera = Practitioner.objects.get(npi="9876543213")
    assert rivera.family_name == "Rivera-Diaz"
    assert rivera.source_key == "Practitioner/d1"  # the first source key is kept
    assert Patient.objects.count() == 2


def test_references_resolve_to_rows_imported_before(tmp_path: Path) -> None:
    import_paths([NDJSON_DIR])
    later = write_ndjson(
        tmp_path / "Encounter.ndjson",
        {
            "resourceType": "Encounter",
            "id": "e3",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": "Patient/p1"},
            "serviceProvider": {"reference": "Organization/o1"},
            "participant": [{"individual": {"reference": "Practitioner/d1"}}],
            "period": {"start": "2023-09-01T08:00:00+02:00"},
        },
    )
    import_paths([later])
    e3 = Encounter.objects.get(source_key="Encounter/e3")
    assert e3.patient.mrn == "MRN-001" and e3.participants.get().npi == "9876543213"


def test_identical_duplicates_across_files_are_one_row() -> None:
    summary = import_paths([NDJSON_DIR, NDJSON_DIR / "Patient.ndjson"])
    assert summary.counts["Patient"].created == 2
    assert Patient.objects.count() == 2


def test_audit_event_carries_counts_only() -> None:
    import_paths([BUNDLE])
    event = AuditEvent.objects.get(action="fhir.import")
    assert event.actor_role == "system"
    assert event.details["files"] == 1
    assert event.details["created"]["Patient"] == 1
    assert event.details["updated"]["Patient"] == 0
    assert event.details["skipped"] == {"Observation": 1}
    text = json.dumps(event.details)
    for phi in ("Chalmers", "12345", "1974", "peter.chalmers"):
        assert phi not in text


def test_import_resources_api_and_cli_success(capsys) -> None:
    summary = import_resources([json.loads(BUNDLE.read_text())], origin="test")
    assert summary.counts["Encounter"].created == 1
    code, out, err = run_cli(capsys, str(BUNDLE))
    assert code == 0
    assert out.startswith("Imported 10 resources from 1 file(s)")
    assert "skipped 1 Observation" in err
    assert table_counts()["AuditEvent"] == 2


def test_a_handler_registered_by_another_app_is_used(tmp_path: Path) -> None:
    from dataclasses import dataclass

    from carethread.core.fhir_import import Record, register, registry

    written: list[int] = []

    @dataclass(slots=True, kw_only=True)
    class FlagRecord(Record):
        subject: str

    class FlagHandler:
        RESOURCE_TYPE = "Flag"
        DEPENDS_ON = ("Patient",)
        MODEL = Patient

        @staticmethod
        def parse(resource, issues):
            return FlagRecord(subject=resource["subject"]["reference"])

        @staticmethod
        def references(record):
            return [("subject", record.subject, ("Patient",))]

        @staticmethod
        def business_key(record):
            return None

        @staticmethod
        def write(records, ctx):
            written.extend(ctx.pk(r.subject) for r in records)
            return len(records), 0

    register(FlagHandler)
    try:
        flag = {"resourceType": "Flag", "id": "f1", "subject": {"reference": "Patient/p1"}}
        summary = import_paths([NDJSON_DIR, write_ndjson(tmp_path / "Flag.ndjson", flag)])
    finally:
        registry._handlers.pop("Flag")
    assert written == [Patient.objects.get(mrn="MRN-001").pk]
    assert summary.counts["Flag"].created == 1


@pytest.mark.django_db(transaction=True)
def test_console_script_exit_codes(tmp_path: Path, capsys) -> None:
    assert main(["import", str(NDJSON_DIR)]) == 0
    out, _err = capsys.readouterr()
    assert out.startswith("Imported 11 resources from 7 file(s)")
    bad = write_ndjson(tmp_path / "bad.ndjson", "{not json")
    assert main(["import", str(bad)]) == 2
    _out, err = capsys.readouterr()
    assert "bad.ndjson:1: malformed JSON" in err
    assert main(["import"]) == 2  # no PATH: a usage error
    assert Patient.objects.count() == 2

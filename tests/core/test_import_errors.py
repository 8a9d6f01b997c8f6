"""Bad input to ``carethread import``: every error is named, nothing is written, exit code 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from carethread.core.fhir_import import ImportFailed, import_paths
from carethread.core.models import Practitioner
from tests.core.import_helpers import (
    BUNDLE,
    copy_ndjson_dir,
    read_ndjson,
    run_cli,
    table_counts,
    write_ndjson,
)

pytestmark = pytest.mark.django_db

Resources = list[dict[str, Any]]


@pytest.fixture
def existing() -> dict[str, int]:
    """Data already in the database: a failed import must leave it exactly as it was."""
    import_paths([BUNDLE])
    return table_counts()


def edit(folder: Path, name: str, change: Callable[[Resources], None]) -> None:
    path = folder / f"{name}.ndjson"
    resources = read_ndjson(path)
    change(resources)
    write_ndjson(path, *resources)


def practitioner(ident: str, npi: str, family: str) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": ident,
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": npi}],
        "name": [{"family": family}],
    }


def set_in(index: int, **changes: Any) -> Callable[[Resources], None]:
    def change(resources: Resources) -> None:
        for key, value in changes.items():
            if value is None:
                resources[index].pop(key, None)
            else:
                resources[index][key] = value

    return change


CASES: list[tuple[str, str, Callable[[Resources], None], str]] = [
    (
        "unknown resource type",
        "Patient",
        lambda rs: rs.append({"resourceType": "Patinet", "id": "x"}),
        "Patient.ndjson:3: Patinet/x: unknown resourceType 'Patinet'",
    ),
    (
        "unknown reference",
        "Encounter",
        set_in(0, subject={"reference": "Patient/nobody"}),
        "Encounter.ndjson:1: Encounter/e1: subject Patient/nobody is not in the input nor imported",
    ),
    (
        "reference to the wrong type",
        "Encounter",
        set_in(1, subject={"reference": "Organization/o1"}),
        "Encounter/e2: subject must reference Patient, not Organization/o1",
    ),
    (
        "invalid NPI",
        "Practitioner",
        lambda rs: rs.append(practitioner("d3", "9876543210", "Park")),
        "Practitioner.ndjson:3: Practitioner/d3: NPI '9876543210' is not valid",
    ),
    (
        "invalid TIN",
        "Organization",
        set_in(0, identifier=[{"system": "urn:oid:2.16.840.1.113883.4.4", "value": "27123456"}]),
        "Organization/o1: TIN '27123456' is not valid",
    ),
    (
        "missing TIN",
        "Organization",
        set_in(0, identifier=None),
        "Organization/o1: identifier with system urn:oid:2.16.840.1.113883.4.4 (TIN) is missing",
    ),
    (
        "invalid POS",
        "Location",
        set_in(
            0,
            type=[
                {
                    "coding": [
                        {
                            "system": "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set",
                            "code": "1A",
                        }
                    ]
                }
            ],
        ),
        "Location/l1: place-of-service code '1A' is not two digits",
    ),
    (
        "impossible birth date",
        "Patient",
        set_in(0, birthDate="2023-02-30"),
        "Patient/p1: birthDate is not a valid date",
    ),
    (
        "impossible encounter start",
        "Encounter",
        set_in(1, period={"start": "2023-02-30T10:00:00Z"}),
        "Encounter/e2: period.start is not a valid date and time",
    ),
    (
        "dateTime without a zone",
        "Encounter",
        set_in(1, period={"start": "2023-03-01T10:00:00"}),
        "Encounter/e2: period.start is not a FHIR dateTime",
    ),
    (
        "missing birth date",
        "Patient",
        set_in(0, birthDate=None),
        "Patient/p1: birthDate is missing",
    ),
    (
        "missing service provider",
        "Encounter",
        set_in(0, serviceProvider=None),
        "Encounter/e1: serviceProvider is missing",
    ),
    (
        "missing MRN",
        "Patient",
        set_in(1, identifier=None),
        "Patient/p2: identifier[0].value (MRN) is missing",
    ),
    (
        "same NPI, different practitioner",
        "Practitioner",
        lambda rs: rs.append(practitioner("d9", "9876543213", "Someone-Else")),
        "Practitioner.ndjson:3: Practitioner/d9: NPI 9876543213 is also on Practitioner/d1",
    ),
    (
        "same MRN, different patient",
        "Patient",
        lambda rs: rs.append(
            {
                "resourceType": "Patient",
                "id": "p9",
                "identifier": [{"value": "MRN-001"}],
                "name": [{"family": "Other"}],
                "birthDate": "1990-01-01",
            }
        ),
        "Patient.ndjson:3: Patient/p9: MRN is also on Patient/p1",
    ),
    (
        "same id, different content",
        "Patient",
        lambda rs: rs.append({**rs[0], "birthDate": "1980-01-01"}),
        "Patient/p1: the same id is at",
    ),
    (
        "representative period ends before it starts",
        "RelatedPerson",
        set_in(0, period={"start": "2020-05-01", "end": "2020-04-30"}),
        "RelatedPerson/r1: period.end is before period.start",
    ),
    (
        "role code outside clinician/staff",
        "PractitionerRole",
        set_in(0, code=[{"coding": [{"system": "urn:carethread:role", "code": "doctor"}]}]),
        "PractitionerRole/d1-o1: code 'doctor' of system urn:carethread:role is not clinician",
    ),
    (
        "two roles for one practitioner in one practice",
        "PractitionerRole",
        lambda rs: rs.append({**rs[0], "id": "d1-o1-again", "active": False}),
        "PractitionerRole/d1-o1-again: PractitionerRole/d1-o1 already links",
    ),
]


@pytest.mark.parametrize(
    ("name", "resource_file", "change", "message"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input_exits_2_names_the_error_and_writes_nothing(
    tmp_path: Path,
    capsys,
    existing: dict[str, int],
    name: str,
    resource_file: str,
    change: Callable[[Resources], None],
    message: str,
) -> None:
    folder = copy_ndjson_dir(tmp_path / "in")
    edit(folder, resource_file, change)

    code, out, err = run_cli(capsys, str(folder))

    assert code == 2
    assert message in err, err
    assert "nothing was imported" in err
    assert out == ""
    assert table_counts() == existing


def test_malformed_json_line_is_reported_with_its_line(tmp_path: Path, capsys, existing) -> None:
    folder = copy_ndjson_dir(tmp_path / "in")
    with (folder / "Patient.ndjson").open("a") as fh:
        fh.write('{"resourceType": "Patient", "id": \n')
    code, _out, err = run_cli(capsys, str(folder))
    assert code == 2
    assert "Patient.ndjson:4: malformed JSON" in err
    assert table_counts() == existing


def test_every_error_is_reported_not_only_the_first(tmp_path: Path, capsys, existing) -> None:
    folder = copy_ndjson_dir(tmp_path / "in")
    edit(folder, "Patient", set_in(0, birthDate="2023-02-30"))
    edit(folder, "Practitioner", lambda rs: rs.append(practitioner("d3", "1234567890", "X")))
    edit(folder, "RelatedPerson", set_in(0, period={"start": "2021-01-02", "end": "2021-01-01"}))
    code, _out, err = run_cli(capsys, str(folder))
    assert code == 2
    assert "Patient/p1: birthDate" in err
    assert "Practitioner/d3: NPI" in err
    assert "RelatedPerson/r1: period.end" in err
    assert "3 error(s) found; nothing was imported" in err
    assert table_counts() == existing


def test_bundle_errors_name_the_entry_index(tmp_path: Path, capsys, existing) -> None:
    bundle = json.loads(BUNDLE.read_text())
    bundle["entry"][6]["resource"]["birthDate"] = "1974-13-01"
    bundle["entry"][1]["resource"]["managingOrganization"] = {"reference": "urn:uuid:missing"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bundle))
    code, _out, err = run_cli(capsys, str(path))
    assert code == 2
    assert f"{path} entry[6]: Patient/example: birthDate is not a valid date" in err
    assert f"{path} entry[1]: Location/1: managingOrganization urn:uuid:missing is not in" in err
    assert "1974-13-01" not in err  # patient data is not echoed
    assert table_counts() == existing


def test_unread_resource_types_are_skipped_not_fatal(tmp_path: Path, capsys) -> None:
    folder = copy_ndjson_dir(tmp_path / "in")
    write_ndjson(
        folder / "Observation.ndjson",
        {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"}},
    )
    code, out, err = run_cli(capsys, str(folder))
    assert code == 0
    assert "warning: skipped 1 Observation resource(s)" in err
    assert "skipped 1 of types not read" in out


def test_bundle_type_that_is_not_read(tmp_path: Path, capsys) -> None:
    path = tmp_path / "search.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": []}))
    code, _out, err = run_cli(capsys, str(path))
    assert code == 2
    assert "Bundle type 'searchset' is not read" in err


def test_missing_path_exits_2(tmp_path: Path, capsys) -> None:
    code, _out, err = run_cli(capsys, str(tmp_path / "nope.ndjson"))
    assert code == 2
    assert "no such file or directory" in err


def test_conflict_with_stored_rows_rolls_everything_back(tmp_path: Path, capsys) -> None:
    first = write_ndjson(
        tmp_path / "first.ndjson",
        practitioner("a", "1234567893", "Able"),
        practitioner("b", "9876543213", "Baker"),
    )
    import_paths([first])
    before = table_counts()
    # Practitioner/a now carries b's NPI: one stored row by id, another by NPI.
    second = write_ndjson(
        tmp_path / "second.ndjson",
        {**practitioner("new", "1112223338", "New")},
        practitioner("a", "9876543213", "Able"),
    )
    with pytest.raises(ImportFailed) as failed:
        import_paths([second])
    assert "matches one stored row by npi and another by its id" in str(failed.value.errors[0])
    assert table_counts() == before
    assert not Practitioner.objects.filter(npi="1112223338").exists()

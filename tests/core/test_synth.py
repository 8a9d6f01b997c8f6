"""``carethread synth``: the command, its files and their FHIR content."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from carethread.cli import main
from carethread.core.synth import ResourceWriter, build_network, default_writers, write_dataset
from carethread.core.synth.vocab import STATES
from carethread.core.validators import npi_is_valid

YEAR = 2023
TYPES = [
    "Organization",
    "Location",
    "Practitioner",
    "PractitionerRole",
    "Patient",
    "RelatedPerson",
    "Encounter",
    "Group",
    "Communication",
]
POS_SYSTEM = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
ZONE_OF_STATE = {state.code: zoneinfo.ZoneInfo(state.time_zone) for state in STATES}


def synth(out: Path, patients: int = 600, seed: int = 7, *extra: str) -> int:
    args = ["synth", "--patients", str(patients), "--seed", str(seed), "--out", str(out)]
    return main([*args, "--year", str(YEAR), *extra] if "--no-year" not in extra else args)


def load(out: Path, resource_type: str) -> list[dict[str, Any]]:
    with (out / f"{resource_type}.ndjson").open(encoding="utf-8") as stream:
        return [json.loads(line) for line in stream]


def by_id(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in resources}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "out"
    assert synth(out) == 0
    return out


def test_writes_one_ndjson_file_per_resource_type(dataset: Path) -> None:
    assert sorted(p.name for p in dataset.iterdir()) == sorted(f"{t}.ndjson" for t in TYPES)
    for resource_type in TYPES:
        resources = load(dataset, resource_type)
        assert resources, resource_type
        assert {r["resourceType"] for r in resources} == {resource_type}
        ids = [r["id"] for r in resources]
        assert len(ids) == len(set(ids))


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path, dataset: Path) -> None:
    assert synth(tmp_path / "again") == 0
    for resource_type in TYPES:
        name = f"{resource_type}.ndjson"
        assert (tmp_path / "again" / name).read_bytes() == (dataset / name).read_bytes(), name
    assert synth(tmp_path / "other", 600, 8) == 0
    for name in ("Organization.ndjson", "Patient.ndjson", "Encounter.ndjson"):
        assert (tmp_path / "other" / name).read_bytes() != (dataset / name).read_bytes()


def test_summary_on_stdout_and_no_progress_bar_off_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert synth(tmp_path / "out", 50) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    patients = next(line for line in captured.out.splitlines() if "Patient " in line)
    assert patients.split() == ["Patient", "50"]
    encounters = len(load(tmp_path / "out", "Encounter"))
    assert f"{encounters:,}" in captured.out


def test_default_year_is_the_last_full_calendar_year(tmp_path: Path) -> None:
    assert synth(tmp_path, 20, 1, "--no-year") == 0
    years = {e["period"]["start"][:4] for e in load(tmp_path, "Encounter")}
    assert years == {str(dt.date.today().year - 1)}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--patients", "0", "--seed", "1"], "--patients must be between"),
        (["--patients", "-5", "--seed", "1"], "--patients must be between"),
        (["--patients", "ten", "--seed", "1"], "--patients must be an integer"),
        (["--patients", "5", "--seed", "x"], "--seed must be an integer"),
        (["--patients", "5", "--seed", "1", "--year", "20x5"], "--year must be an integer"),
        (["--patients", "5", "--seed", "1", "--year", "99"], "--year must be between"),
        (["--seed", "1"], "required: --patients"),
    ],
)
def test_bad_arguments_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["synth", *args, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_out_being_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("keep")
    assert synth(target, 5) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert target.read_text() == "keep"


def test_identifiers_npi_luhn_and_nine_digit_tins(dataset: Path) -> None:
    npis = [
        ident["value"]
        for p in load(dataset, "Practitioner")
        for ident in p.get("identifier", [])
        if ident["system"] == "http://hl7.org/fhir/sid/us-npi"
    ]
    assert npis and all(npi_is_valid(npi) for npi in npis)
    assert len(npis) == len(set(npis))
    tins = [
        ident["value"]
        for org in load(dataset, "Organization")
        for ident in org["identifier"]
        if ident["system"] == "urn:oid:2.16.840.1.113883.4.4"
    ]
    assert len(tins) == len(load(dataset, "Organization")) >= 3
    assert all(len(tin) == 9 and tin.isdigit() for tin in tins)
    assert len(tins) == len(set(tins))
    mrns = [p["identifier"][0]["value"] for p in load(dataset, "Patient")]
    assert len(mrns) == len(set(mrns)) == 600


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [ref for v in value.values() for ref in _references(v)]
    if isinstance(value, list):
        return [ref for v in value for ref in _references(v)]
    return []


def test_every_reference_resolves(dataset: Path) -> None:
    known = {f"{t}/{r['id']}" for t in TYPES for r in load(dataset, t)}
    references = [ref for t in TYPES for r in load(dataset, t) for ref in _references(r)]
    assert len(references) > 3 * 600
    assert [ref for ref in references if ref not in known] == []


def test_roles_clinicians_in_two_tins_and_staff(dataset: Path) -> None:
    roles = load(dataset, "PractitionerRole")
    codes = Counter(role["code"][0]["coding"][0]["code"] for role in roles)
    assert set(codes) == {"clinician", "staff"}
    assert all(role["code"][0]["coding"][0]["system"] == "urn:carethread:role" for role in roles)
    orgs_of: dict[str, list[str]] = defaultdict(list)
    for role in roles:
        orgs_of[role["practitioner"]["reference"]].append(role["organization"]["reference"])
    two_tins = [p for p, orgs in orgs_of.items() if len(orgs) == 2]
    assert two_tins
    assert all(len(set(orgs_of[p])) == 2 for p in two_tins)
    practitioners = by_id(load(dataset, "Practitioner"))
    staff = [
        role["practitioner"]["reference"].split("/")[1]
        for role in roles
        if role["code"][0]["coding"][0]["code"] == "staff"
    ]
    assert any("identifier" not in practitioners[ident] for ident in staff)
    assert all(practitioners[ref.split("/")[1]].get("identifier") for ref in two_tins)


def test_locations_have_pos_state_county_and_hospital_sites(dataset: Path) -> None:
    locations = load(dataset, "Location")
    pos = Counter(loc["type"][0]["coding"][0]["code"] for loc in locations)
    assert {"11", "21", "23"} <= set(pos)
    assert pos["11"] == max(pos.values())
    assert all(loc["type"][0]["coding"][0]["system"] == POS_SYSTEM for loc in locations)
    assert all(loc["address"]["state"] in ZONE_OF_STATE for loc in locations)
    assert all(loc["address"]["district"] for loc in locations)
    per_org = Counter(loc["managingOrganization"]["reference"] for loc in locations)
    assert all(2 <= n <= 5 for n in per_org.values())


def test_encounters_fall_in_the_year_in_local_time_with_the_right_offset(dataset: Path) -> None:
    locations = by_id(load(dataset, "Location"))
    classes = {"11": "AMB", "02": "VR", "10": "VR", "21": "IMP", "23": "EMER"}
    encounters = load(dataset, "Encounter")
    offsets = set()
    for encounter in encounters:
        start = dt.datetime.fromisoformat(encounter["period"]["start"])
        assert start.tzinfo is not None
        location = locations[encounter["location"][0]["location"]["reference"].split("/")[1]]
        zone = ZONE_OF_STATE[location["address"]["state"]]
        local = start.replace(tzinfo=None)
        # The stated offset is the one the practice's zone has at that local time.
        assert local.replace(tzinfo=zone).utcoffset() == start.utcoffset()
        offsets.add(start.utcoffset())
        assert local.year == YEAR
        pos = location["type"][0]["coding"][0]["code"]
        assert encounter["class"]["code"] == classes[pos]
        if pos in ("11", "02", "10"):
            assert local.weekday() < 5 and 7 <= local.hour < 19
    assert len(offsets) >= 2  # daylight saving time (and/or several zones)


def test_encounter_statuses_and_participants(dataset: Path) -> None:
    encounters = load(dataset, "Encounter")
    statuses = Counter(e["status"] for e in encounters)
    assert set(statuses) <= {"finished", "cancelled", "entered-in-error"}
    assert statuses["finished"] > 0.9 * len(encounters)
    assert statuses["cancelled"] > 0
    assert any(len(e["participant"]) == 2 for e in encounters)
    act = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    assert all(e["class"]["system"] == act for e in encounters)


def test_representatives_some_expired(dataset: Path) -> None:
    reps = load(dataset, "RelatedPerson")
    year_end = dt.datetime(YEAR, 12, 31, 23, 59, tzinfo=dt.UTC)
    ended = [r for r in reps if "end" in r["period"]]
    expired = [r for r in ended if dt.datetime.fromisoformat(r["period"]["end"]) < year_end]
    assert expired and len(expired) < len(reps)
    codes = {r["relationship"][0]["coding"][0]["code"] for r in reps}
    assert codes <= {"MTH", "FTH", "GUARD", "DAU", "SON", "WIFE", "HUSB", "FRND"}
    assert all(r["telecom"][0]["value"].endswith((".example.org", "@example.org")) for r in reps)
    for rep in ended:
        start, end = (dt.datetime.fromisoformat(rep["period"][k]) for k in ("start", "end"))
        assert end > start


def test_an_added_writer_gets_its_own_file_and_leaves_the_others_unchanged(
    tmp_path: Path, dataset: Path
) -> None:
    def notes(network: Any) -> list[dict[str, Any]]:
        rng = network.rng("notes")
        return [
            {
                "resourceType": "Basic",
                "id": f"note-{i}",
                "subject": {"reference": f"Patient/{p.id}"},
            }
            for i, p in enumerate(rng.sample(network.patients, 3))
        ]

    network = build_network(600, 7, YEAR)
    writers = [*default_writers(), ResourceWriter("Basic", lambda n: 3, notes)]
    counts = write_dataset(network, tmp_path, writers)
    assert counts["Basic"] == 3 and len(load(tmp_path, "Basic")) == 3
    for resource_type in TYPES:
        name = f"{resource_type}.ndjson"
        assert (tmp_path / name).read_bytes() == (dataset / name).read_bytes()

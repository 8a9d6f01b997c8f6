"""``carethread synth`` message history: Group and Communication files, deterministic, importable,
and shaped like a real year of portal messages."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections import Counter, defaultdict
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from carethread.core.models import CareTeamPool
from carethread.core.synth import build_network, write_dataset
from carethread.core.synth.messages import communications
from carethread.core.synth.vocab import STATES
from carethread.messaging.models import Message, Thread

YEAR = 2023
ZONE_OF_STATE = {state.code: zoneinfo.ZoneInfo(state.time_zone) for state in STATES}
OBO = "urn:carethread:on-behalf-of"
Resource = dict[str, Any]


def load(out: Path, resource_type: str) -> list[Resource]:
    with (out / f"{resource_type}.ndjson").open(encoding="utf-8") as stream:
        return [json.loads(line) for line in stream]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth-messages")
    write_dataset(build_network(3000, 11, YEAR), out)
    return out


@pytest.fixture(scope="module")
def world(dataset: Path) -> dict[str, Any]:
    """The data set indexed: messages by id, people's roles, patients' practice time zones."""
    messages = load(dataset, "Communication")
    roles = {
        r["practitioner"]["reference"]: r["code"][0]["coding"][0]["code"]
        for r in load(dataset, "PractitionerRole")
    }
    zone_of_org = {
        f"Organization/{o['id']}": ZONE_OF_STATE[o["address"][0]["state"]]
        for o in load(dataset, "Organization")
    }
    zone = {
        f"Patient/{p['id']}": zone_of_org[p["managingOrganization"]["reference"]]
        for p in load(dataset, "Patient")
    }
    answers: dict[str, list[Resource]] = defaultdict(list)
    for m in messages:
        for target in m.get("inResponseTo", ()):
            answers[target["reference"]].append(m)
    return {
        "messages": messages,
        "by_id": {f"Communication/{m['id']}": m for m in messages},
        "roles": roles,
        "zone": zone,
        "answers": answers,
        "reps": {f"RelatedPerson/{r['id']}": r for r in load(dataset, "RelatedPerson")},
        "seen": {
            e["subject"]["reference"]
            for e in load(dataset, "Encounter")
            if e["status"] == "finished"
        },
    }


def sender(message: Resource) -> str:
    return str(message["sender"]["reference"])


def kinds(message: Resource) -> set[str]:
    return {r["reference"].split("/")[0] for r in message["recipient"]}


def local(message: Resource, world: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(message["sent"]).astimezone(
        world["zone"][message["subject"]["reference"]]
    )


def test_same_seed_same_bytes_other_seed_other_messages(tmp_path: Path, dataset: Path) -> None:
    write_dataset(build_network(3000, 11, YEAR), tmp_path / "again")
    for name in ("Group.ndjson", "Communication.ndjson"):
        assert (tmp_path / "again" / name).read_bytes() == (dataset / name).read_bytes()
    other = list(communications(build_network(3000, 12, YEAR)))
    assert [m["sent"] for m in other[:50]] != [
        m["sent"] for m in load(dataset, "Communication")[:50]
    ]


def test_every_kind_of_conversation_is_there(world: dict[str, Any]) -> None:
    roles, answers = world["roles"], world["answers"]
    found: Counter[str] = Counter()
    for m in world["messages"]:
        key = f"Communication/{m['id']}"
        who = sender(m)
        if m["status"] == "entered-in-error":
            found["retracted"] += 1
        if who.startswith("RelatedPerson/"):
            found["by representative"] += 1
        if "Group" in kinds(m):
            found["to a pool"] += 1
        if "inResponseTo" in m:
            continue
        if who.startswith(("Patient/", "RelatedPerson/")):
            replies = [r for r in answers[key] if sender(r).startswith("Practitioner/")]
            if not replies:
                found["patient question unanswered"] += 1
            for reply in replies:
                if "extension" in reply:
                    found["answered by staff on behalf"] += 1
                elif roles[sender(reply)] == "clinician":
                    found["answered by the clinician"] += 1
                else:
                    found["answered by staff"] += 1
        elif "Practitioner" in kinds(m):
            patient_side = kinds(m) & {"Patient", "RelatedPerson"}
            found["clinician to clinician" + (" with patient" if patient_side else "")] += 1
        elif "extension" in m:
            found["staff on behalf to patient"] += 1
        else:
            found["clinician to patient"] += 1
    expected = {
        "retracted",
        "by representative",
        "to a pool",
        "patient question unanswered",
        "answered by the clinician",
        "answered by staff on behalf",
        "answered by staff",
        "clinician to clinician",
        "clinician to clinician with patient",
        "staff on behalf to patient",
        "clinician to patient",
    }
    assert set(found) == expected, found
    assert found["retracted"] < 0.03 * len(world["messages"])
    assert found["patient question unanswered"] < found["answered by the clinician"]


def test_about_a_third_of_the_patients_seen_have_messages(world: dict[str, Any]) -> None:
    with_messages = {m["subject"]["reference"] for m in world["messages"]}
    assert with_messages <= world["seen"]
    assert 0.30 <= len(with_messages) / len(world["seen"]) <= 0.42


def test_representatives_write_and_read_only_within_their_period(world: dict[str, Any]) -> None:
    checked = 0
    for m in world["messages"]:
        people = [sender(m), *(r["reference"] for r in m["recipient"])]
        for person in people:
            if not person.startswith("RelatedPerson/"):
                continue
            rep = world["reps"][person]
            sent = dt.datetime.fromisoformat(m["sent"])
            assert rep["active"] and rep["patient"] == m["subject"]
            assert dt.datetime.fromisoformat(rep["period"]["start"]) <= sent
            if "end" in rep["period"]:
                assert sent < dt.datetime.fromisoformat(rep["period"]["end"])
            checked += 1
    assert checked > 20


def test_times_replies_and_office_hours(world: dict[str, Any]) -> None:
    by_id = world["by_id"]
    for m in world["messages"]:
        moment = local(m, world)
        # The offset written is the practice's offset at that moment (DST included).
        assert dt.datetime.fromisoformat(m["sent"]).utcoffset() == moment.utcoffset()
        assert moment.year == YEAR
        for target in m.get("inResponseTo", ()):
            question = by_id[target["reference"]]
            delay = dt.datetime.fromisoformat(m["sent"]) - dt.datetime.fromisoformat(
                question["sent"]
            )
            assert dt.timedelta(minutes=30) <= delay <= dt.timedelta(days=8)
            if sender(m).startswith("Practitioner/"):
                assert moment.weekday() < 5 and 8 <= moment.hour < 20
    starters = [m for m in world["messages"] if "inResponseTo" not in m]
    assert all(m.get("topic", {}).get("text") for m in starters)


def test_data_set_with_messages_imports_as_it_is_and_again_unchanged(
    dataset: Path, world: dict[str, Any], db: Any
) -> None:
    out, err = StringIO(), StringIO()
    call_command("import", str(dataset), stdout=out, stderr=err)
    assert err.getvalue() == ""
    assert Message.objects.count() == len(world["messages"])
    assert CareTeamPool.objects.count() == len(load(dataset, "Group"))
    assert CareTeamPool.objects.filter(members__isnull=False).distinct().count() == (
        CareTeamPool.objects.count()
    )
    # Threads as the live system keeps them: some wait for an answer, some went to pools,
    # some are between clinicians only.
    assert Thread.objects.filter(awaiting_reply_since__isnull=False).exists()
    assert Thread.objects.filter(pool__isnull=False).exists()
    assert Thread.objects.filter(kind="clinical", includes_patient=False).exists()
    assert Message.objects.filter(on_behalf_of__isnull=False).exists()
    assert Message.objects.filter(status="entered-in-error").exists()
    first = list(Message.objects.order_by("pk").values_list("pk", "thread_id", "status"))
    call_command("import", str(dataset), stdout=out, stderr=StringIO())
    assert "Communication 0 new, 0 updated" in out.getvalue().splitlines()[-1]
    assert list(Message.objects.order_by("pk").values_list("pk", "thread_id", "status")) == first

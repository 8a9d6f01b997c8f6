"""The engine against a plain reference on a synthetic practice network.

The reference below reads docs/measures.md's rules one row and one message at a time, through the
ORM, with no shared code: slow, obviously right, fine for a few hundred patients. The data is a
``carethread synth`` year, so it carries every kind of sender, recipient, representative,
retraction and visit the generator makes; in addition, nurses who hold an NPI take part in some
visits, at their own practice (where their role is staff: never measured) and at others (where
they hold no role: visiting clinicians).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from io import StringIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command

from carethread.core.models import Encounter, Membership, Patient, Practitioner
from carethread.core.synth import build_network, write_dataset
from carethread.core.synth.network import Network
from carethread.measures import engine, request
from carethread.messaging.models import Message

YEAR = 2025
PERIODS = [("2025-01-01", "2025-12-31"), ("2025-03-10", "2025-08-31")]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth-measure")
    network = build_network(700, 5, YEAR)
    write_dataset(network, out)
    _nurses_at_visits(network, out)
    return out


def _nurses_at_visits(network: Network, out: Path) -> None:
    """Add a nurse with an NPI to every fifth visit: alternately one of the visit's practice
    (staff there) and one of another practice (no role there)."""
    nurses = [
        (p.id, {network.organizations[org].id for org, _role in p.roles})
        for p in network.practitioners
        if p.npi and all(role == "staff" for _org, role in p.roles)
    ]
    assert nurses, "the synthetic network has nurses with an NPI"
    path = out / "Encounter.ndjson"
    lines = []
    for number, line in enumerate(path.read_text().splitlines()):
        encounter = json.loads(line)
        if number % 5 == 0:
            org = encounter["serviceProvider"]["reference"].removeprefix("Organization/")
            home = [n for n, orgs in nurses if org in orgs]
            away = [n for n, orgs in nurses if org not in orgs]
            pick = (home if number % 10 == 0 else away) or home or away
            nurse = pick[(number // 10) % len(pick)]
            encounter["participant"].append({"individual": {"reference": f"Practitioner/{nurse}"}})
        lines.append(json.dumps(encounter))
    path.write_text("\n".join(lines) + "\n")


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def reference(start: dt.date, end: dt.date) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (TIN, NPI): the denominator MRNs and, per actors reading, the numerator MRNs."""
    memberships = list(Membership.objects.select_related("organization"))
    role_at = {(m.practitioner_id, m.organization.tin): m.role for m in memberships}
    seen: dict[tuple[str, str], set[int]] = defaultdict(set)
    encounters = Encounter.objects.select_related("organization", "location", "patient")
    for encounter in encounters.prefetch_related("participants"):
        if encounter.status in ("cancelled", "entered-in-error"):
            continue
        if encounter.location is not None and encounter.location.pos_code in ("21", "23"):
            continue
        if not start <= _day(encounter.start) <= end:
            continue
        tin = encounter.organization.tin
        for clinician in encounter.participants.all():
            # Measured: an NPI, and no staff role at this practice (the role decides).
            if clinician.npi and role_at.get((clinician.pk, tin)) != "staff":
                seen[(tin, clinician.npi)].add(encounter.patient_id)

    actions: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
    messages = Message.objects.select_related("thread").prefetch_related(
        "recipients__representative"
    )
    for message in messages:
        if message.status != "completed" or message.is_automatic or message.sent_at is None:
            continue
        if message.sender_kind != "practitioner" or not start <= _day(message.sent_at) <= end:
            continue
        patient = message.thread.patient_id
        if any(_reaches(r, patient, message.sent_at) for r in message.recipients.all()):
            actions[patient].append((message.sender_practitioner_id, message.on_behalf_of_id))

    member_of = {(m.practitioner_id, m.organization.tin) for m in memberships}
    npi_to_id = dict(Practitioner.objects.filter(npi__isnull=False).values_list("npi", "id"))
    # A TIN's clinicians: its clinician members with an NPI, and whoever it saw patients as.
    clinician_of = {
        (m.practitioner_id, m.organization.tin)
        for m in memberships
        if m.role == "clinician" and m.practitioner_id in npi_to_id.values()
    } | {(npi_to_id[npi], tin) for tin, npi in seen}
    result = {}
    for (tin, npi), patients in seen.items():
        me = npi_to_id[npi]

        def credited(patient: int, actors: str, me: int = me, tin: str = tin) -> bool:
            for sender, behalf in actions.get(patient, ()):
                if sender == me:
                    return True
                if actors != "clinician" and behalf == me:
                    return True
                if actors == "practice" and (sender, tin) in member_of:
                    return True
            return False

        result[(tin, npi)] = {
            "denominator": patients,
            # Group level: credited by any clinician of the TIN (used by the group test).
            "tin_clinicians": {
                p
                for p in patients
                if any((sender, tin) in clinician_of for sender, _behalf in actions.get(p, ()))
            },
            **{
                actors: {p for p in patients if credited(p, actors)}
                for actors in ("clinician", "delegate", "practice")
            },
        }
    return result


def _reaches(recipient: Any, patient: int, sent: dt.datetime) -> bool:
    if recipient.kind == "patient":
        return bool(recipient.patient_id == patient)
    if recipient.kind != "representative":
        return False
    rep = recipient.representative
    return (
        rep.patient_id == patient
        and rep.consent_given_at is not None
        and (rep.valid_from is None or rep.valid_from <= sent)
        and (rep.valid_until is None or sent <= rep.valid_until)
    )


@pytest.mark.parametrize(("start", "end"), PERIODS)
def test_individual_rows_match_the_reference_under_every_actors_reading(
    dataset: Path, db: Any, start: str, end: str
) -> None:
    call_command("import", str(dataset), stdout=StringIO(), stderr=StringIO())
    expected = reference(dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    assert sum(len(row["clinician"]) for row in expected.values()) > 10  # the data has content
    mrn = dict(Patient.objects.values_list("id", "mrn"))
    for actors in ("clinician", "delegate", "practice"):
        doc = engine.compute(
            request.parse(
                request.RequestInput(
                    program="pi-2018",
                    start=start,
                    end=end,
                    level="individual",
                    policies=[f"actors={actors}"],
                    patients=True,
                )
            )
        )
        got = {(row["tin"], row["npi"]): row for row in doc["results"] if row["denominator"]}
        assert set(got) == set(expected)
        for key, row in got.items():
            want = expected[key]
            assert {p["patient"] for p in row["patients"]} == {
                mrn[p] for p in want["denominator"]
            }, key
            assert {p["patient"] for p in row["patients"] if p["in_numerator"]} == {
                mrn[p] for p in want[actors]
            }, (key, actors)
            readings = {(r["actors"], r["halo"]): r["numerator"] for r in row["readings"]}
            for other in ("clinician", "delegate", "practice"):
                assert readings[(other, False)] == len(want[other]), (key, other)


def test_group_and_ep_rows_are_the_unions_of_the_reference(dataset: Path, db: Any) -> None:
    call_command("import", str(dataset), stdout=StringIO(), stderr=StringIO())
    expected = reference(dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
    by_tin: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    by_npi: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for (tin, npi), row in expected.items():
        by_tin[tin]["denominator"] |= row["denominator"]
        by_tin[tin]["clinician"] |= row["tin_clinicians"]
        for part in ("denominator", "clinician"):
            by_npi[npi][part] |= row[part]

    def computed(level: str) -> dict[str, tuple[int, int]]:
        doc = engine.compute(
            request.parse(
                request.RequestInput(
                    program="stage3-2021", start="2025-01-01", end="2025-12-31", level=level
                )
            )
        )
        key = "tin" if level == "group" else "npi"
        return {
            row[key]: (row["numerator"], row["denominator"])
            for row in doc["results"]
            if row["denominator"]
        }

    # Group: a patient seen by several clinicians of the TIN counts once, and is credited when
    # any clinician of the TIN wrote. EP: one NPI over every practice it saw patients at.
    assert computed("group") == {
        tin: (len(parts["clinician"]), len(parts["denominator"])) for tin, parts in by_tin.items()
    }
    assert computed("ep") == {
        npi: (len(parts["clinician"]), len(parts["denominator"])) for npi, parts in by_npi.items()
    }

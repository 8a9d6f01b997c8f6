"""What ``carethread synth`` writes imports as it is (docs/import.md)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from carethread.core.models import (
    CareTeamPool,
    Encounter,
    Location,
    Membership,
    Organization,
    Patient,
    Practitioner,
    Representative,
)
from carethread.core.synth import build_network, write_dataset
from carethread.messaging.models import Message

pytestmark = pytest.mark.django_db


def test_synthetic_data_set_imports_completely_and_idempotently(tmp_path: Path) -> None:
    counts = write_dataset(build_network(150, 3, 2023), tmp_path)
    call_command("import", str(tmp_path), stdout=StringIO(), stderr=StringIO())
    imported = {
        "Organization": Organization.objects.count(),
        "Location": Location.objects.count(),
        "Practitioner": Practitioner.objects.count(),
        "PractitionerRole": Membership.objects.count(),
        "Patient": Patient.objects.count(),
        "RelatedPerson": Representative.objects.count(),
        "Encounter": Encounter.objects.count(),
        "Group": CareTeamPool.objects.count(),
        "Communication": Message.objects.count(),
    }
    assert imported == counts
    assert Location.objects.filter(pos_code__in=["21", "23"]).exists()
    assert Membership.objects.filter(role="staff").exists()
    assert Encounter.objects.filter(start__year=2023).count() == counts["Encounter"]

    call_command("import", str(tmp_path), stdout=StringIO(), stderr=StringIO())
    assert Encounter.objects.count() == counts["Encounter"]
    assert Patient.objects.count() == counts["Patient"]

"""Shared helpers of the FHIR import tests."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import CommandError, call_command

from carethread.audit.models import AuditEvent
from carethread.core.models import (
    CareTeamPool,
    Encounter,
    EncounterParticipant,
    Location,
    Membership,
    Organization,
    Patient,
    Practitioner,
    Representative,
)

FIXTURES = Path(__file__).parent / "fixtures" / "fhir"
BUNDLE = FIXTURES / "bundle.json"
NDJSON_DIR = FIXTURES / "ndjson"
MODELS = (
    Organization,
    Location,
    Practitioner,
    Membership,
    Patient,
    Representative,
    Encounter,
    EncounterParticipant,
    CareTeamPool,
    AuditEvent,
)


def table_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every stored value of every table the importer writes, in primary-key order."""
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in MODELS
        if model is not AuditEvent
    }


def write_ndjson(path: Path, *resources: dict[str, Any] | str) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in resources) + "\n")
    return path


def copy_ndjson_dir(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for source in NDJSON_DIR.glob("*.ndjson"):
        (target / source.name).write_text(source.read_text())
    return target


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_cli(capsys: Any, *args: str) -> tuple[int, str, str]:
    """``carethread import ARGS`` in-process: (exit code, stdout, stderr).

    Through ``call_command``, which keeps the test's database connection open (the console
    script closes it, see the transactional tests of ``main`` in test_import_fhir.py).
    """
    out, err = StringIO(), StringIO()
    try:
        call_command("import", *args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        err.write(f"CommandError: {exc}\n")
        code = exc.returncode
    return code, out.getvalue(), err.getvalue()

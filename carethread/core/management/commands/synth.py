"""``carethread synth --patients N --seed S --out DIR [--year YYYY]``: a synthetic data set.

Writes one FHIR R4 NDJSON file per resource type into DIR; the same arguments give
byte-identical files. A progress bar is shown only when stderr is a terminal.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carethread import progress
from carethread.core.synth import build_network, default_writers, write_dataset

MAX_PATIENTS = 10_000_000
YEARS = (1900, 2100)


class Command(BaseCommand):
    help = (
        "Write a synthetic, realistic FHIR R4 data set (NDJSON, one file per resource type) "
        "for demos and benchmarks; deterministic for a seed."
    )
    requires_system_checks: list[str] = []  # touches no database

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", required=True, metavar="N", help="number of patients")
        parser.add_argument("--seed", required=True, metavar="S", help="random seed (an integer)")
        parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
        parser.add_argument(
            "--year",
            metavar="YYYY",
            help="calendar year of the encounters (default: the last full calendar year)",
        )

    def handle(self, *args: object, **options: Any) -> None:
        patients = _integer(options["patients"], "--patients")
        if not 1 <= patients <= MAX_PATIENTS:
            raise CommandError(f"--patients must be between 1 and {MAX_PATIENTS:,}", returncode=2)
        seed = _integer(options["seed"], "--seed")
        year = (
            dt.date.today().year - 1
            if options["year"] is None
            else _integer(options["year"], "--year")
        )
        if not YEARS[0] <= year <= YEARS[1]:
            raise CommandError(f"--year must be between {YEARS[0]} and {YEARS[1]}", returncode=2)
        out = Path(options["out"])
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out {out} exists and is not a directory", returncode=2)

        started = time.monotonic()
        with progress.shown(keep=True) as shown:
            network = build_network(patients, seed, year, shown)
            try:
                counts = write_dataset(network, out, default_writers(), shown)
            except OSError as exc:
                raise CommandError(f"cannot write to {out}: {exc.strerror or exc}") from exc
        elapsed = time.monotonic() - started

        self.stdout.write(f"Synthetic data set for {year} (seed {seed}) written to {out}:")
        for resource_type, count in counts.items():
            self.stdout.write(f"  {resource_type:<18}{count:>12,}")
        self.stdout.write(f"  {'total':<18}{sum(counts.values()):>12,}  in {elapsed:.1f} s")


def _integer(value: str, option: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise CommandError(f"{option} must be an integer, not {value!r}", returncode=2) from None

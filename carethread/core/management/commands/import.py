"""``carethread import PATH...``: load FHIR R4 files (Bundle, resource or NDJSON; directories)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from carethread.core.fhir_import import ImportFailed, import_paths


class Command(BaseCommand):
    help = (
        "Import FHIR R4 data: Bundles, single resources or NDJSON files, or directories of them. "
        "All or nothing: on any error every problem is printed and nothing is imported (exit 2)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")

    def handle(self, *args: object, **options: Any) -> None:
        try:
            summary = import_paths(options["paths"], progress=sys.stderr.isatty())
        except ImportFailed as failed:
            for issue in failed.errors:
                self.stderr.write(str(issue))
            raise CommandError(
                f"{len(failed.errors)} error(s) found; nothing was imported", returncode=2
            ) from None
        for rtype, count in sorted(summary.skipped.items()):
            self.stderr.write(f"warning: skipped {count} {rtype} resource(s): type not read")
        self.stdout.write(summary.line())

"""FHIR R4 import (docs/import.md): Bundles, single resources and NDJSON, all or nothing.

    from carethread.core.fhir_import import import_paths, import_resources, ImportFailed

Both return an ``ImportSummary`` or raise ``ImportFailed`` (``.errors``: every problem found)
without writing anything. Resource types are read by handler modules registered in ``registry``.
"""

from carethread.core.fhir_import.engine import import_paths, import_resources
from carethread.core.fhir_import.records import (
    ImportFailed,
    ImportIssue,
    ImportSummary,
    Record,
    TypeCounts,
)
from carethread.core.fhir_import.registry import register

__all__ = [
    "ImportFailed",
    "ImportIssue",
    "ImportSummary",
    "Record",
    "TypeCounts",
    "import_paths",
    "import_resources",
    "register",
]

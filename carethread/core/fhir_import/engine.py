"""The import run: read every resource into compact records, check identifiers and references
across the whole input, then hand the records to ``core.actions.import_fhir`` to write."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from django.utils import timezone

from carethread.core.fhir_import import reader, registry
from carethread.core.fhir_import.fhir_types import R4_RESOURCE_TYPES
from carethread.core.fhir_import.progress import Steps
from carethread.core.fhir_import.records import ImportFailed, ImportIssue, ImportSummary, Record
from carethread.core.fhir_import.upsert import chunks
from carethread.core.fhir_import.values import is_valid_id, reference_type
from carethread.progress import NoProgress, shown

# Business identifiers printed in error messages; others (MRN) are patient data and are not.
PRINTABLE_IDENTIFIERS = {"NPI", "TIN"}


class Importer:
    """Holds the records of one invocation; also the context handlers write with."""

    def __init__(self, names: list[str], progress: Steps) -> None:
        self.names = names
        self.progress = progress
        self.now = timezone.now()
        self.errors: list[ImportIssue] = []
        self.summary = ImportSummary()
        self.records: dict[str, list[Record]] = defaultdict(list)
        self.aliases: dict[str, tuple[str, Record]] = {}
        self.business: dict[tuple[str, str, str], Record] = {}
        self.failed: set[str] = set()
        self.db_keys: dict[str, int] = {}

    # -- context offered to handlers ------------------------------------------------------
    def describe(self, record: Record) -> str:
        return reader.describe(self.names, record.where)

    def pk(self, ref: str) -> int:
        """The row id a (checked) reference points to."""
        target = self.aliases.get(ref)
        if target is not None:
            assert target[1].pk is not None, f"{ref} is written after what refers to it"
            return target[1].pk
        return self.db_keys[ref]

    def canonical(self, ref: str) -> str:
        """The same string for every reference to the same resource."""
        target = self.aliases.get(ref)
        return target[1].key if target is not None else ref

    def advance(self, count: int) -> None:
        self.progress.wrote(count)

    # -- reading ------------------------------------------------------------------------
    def error(self, where: tuple[int, int, int], resource: str, message: str) -> None:
        self.errors.append(ImportIssue(reader.describe(self.names, where), resource, message))

    def add(self, item: reader.Item) -> None:
        if item.error is not None or item.resource is None:
            self.error(item.where, "", item.error or "no resource")
            return
        resource = item.resource
        rtype, rid = resource.get("resourceType"), resource.get("id")
        self.summary.resources += 1
        if not isinstance(rtype, str):
            self.error(item.where, "", "resourceType is missing")
            return
        label = f"{rtype}/{rid}" if isinstance(rid, str) else rtype
        handler = registry.handler_for(rtype)
        if handler is None:
            if rtype in R4_RESOURCE_TYPES:
                self.summary.skipped[rtype] = self.summary.skipped.get(rtype, 0) + 1
            else:
                self.error(item.where, label, f"unknown resourceType {rtype!r}")
            return
        if rid is None and item.full_url:
            key = item.full_url
        elif not is_valid_id(rid):
            self.error(item.where, label, "id is missing or not a valid FHIR id")
            return
        else:
            key = f"{rtype}/{rid}"
        issues: list[str] = []
        record = handler.parse(resource, issues)
        if issues or record is None:
            for message in issues or ["not readable"]:
                self.error(item.where, key, message)
            self.failed.add(key)
            if item.full_url:
                self.failed.add(item.full_url)
            return
        record.key, record.where = key, item.where
        self._register(rtype, handler, record, item.full_url)

    def _register(
        self, rtype: str, handler: registry.ResourceHandler, record: Record, full_url: str | None
    ) -> None:
        same = self.aliases.get(record.key)
        if same is not None:
            if same[1] != record:
                self.error(
                    record.where,
                    record.key,
                    f"the same id is at {self.describe(same[1])} with different content",
                )
            elif full_url:
                self.aliases.setdefault(full_url, same)
            return
        business = handler.business_key(record)
        if business is not None:
            other = self.business.setdefault((rtype, *business), record)
            if other is not record:
                if other == record:  # the same resource under another id: one row
                    self.aliases[record.key] = (rtype, other)
                    if full_url:
                        self.aliases.setdefault(full_url, (rtype, other))
                    return
                shown = business[0] + (
                    f" {business[1]}" if business[0] in PRINTABLE_IDENTIFIERS else ""
                )
                self.error(
                    record.where,
                    record.key,
                    f"{shown} is also on {other.key} ({self.describe(other)}) with different data",
                )
                return
        self.aliases[record.key] = (rtype, record)
        if full_url:
            self.aliases.setdefault(full_url, (rtype, record))
        self.records[rtype].append(record)

    # -- checking -----------------------------------------------------------------------
    def resolve(self) -> None:
        """Every reference must reach a resource of an allowed type (input or database)."""
        pending: dict[str, list[tuple[Record, str, str]]] = defaultdict(list)
        for rtype, records in self.records.items():
            handler = registry.handler_for(rtype)
            assert handler is not None
            for record in records:
                for element, ref, allowed in handler.references(record):
                    target = self.aliases.get(ref)
                    target_type = target[0] if target else reference_type(ref)
                    if target is None and ref in self.failed:
                        continue  # already reported where it was read
                    if target is None and ref.startswith("urn:"):
                        self.error(record.where, record.key, f"{element} {ref} is not in the input")
                    elif target_type not in allowed:
                        self.error(
                            record.where,
                            record.key,
                            f"{element} must reference {' or '.join(allowed)}, not {ref}",
                        )
                    elif target is None:
                        pending[target_type].append((record, element, ref))
        for target_type, waiting in pending.items():
            handler = registry.handler_for(target_type)
            keys = sorted({ref for _r, _e, ref in waiting})
            if handler is not None:
                for part in chunks(keys):
                    found = handler.MODEL._default_manager.filter(source_key__in=part)
                    self.db_keys.update(found.values_list("source_key", "pk"))
            for record, element, ref in waiting:
                if ref not in self.db_keys:
                    self.error(
                        record.where,
                        record.key,
                        f"{element} {ref} is not in the input nor imported before",
                    )

    def check(self) -> None:
        for handler in registry.write_order():
            records = self.records.get(handler.RESOURCE_TYPE)
            check = getattr(handler, "check", None)
            if records and check is not None:
                for record, message in check(records, self):
                    self.error(record.where, record.key, message)

    def finish(self) -> ImportSummary:
        self.resolve()
        if not self.errors:
            self.check()
        if self.errors:
            raise ImportFailed(self.errors)
        from carethread.core.actions import import_fhir

        self.progress.start_writing(sum(len(r) for r in self.records.values()))
        return import_fhir(self)


def import_paths(paths: Iterable[Path], *, progress: bool = False) -> ImportSummary:
    """Import FHIR R4 files and directories; on bad input raise ``ImportFailed``, write nothing."""
    files, problems = reader.discover(Path(p) for p in paths)
    if problems:
        raise ImportFailed([ImportIssue(path, "", message) for path, message in problems])
    with shown() if progress else nullcontext(NoProgress()) as display:
        steps = Steps(display)
        importer = Importer([str(f) for f in files], steps)
        importer.summary.files = len(files)
        steps.start_reading(sum(f.stat().st_size for f in files))
        for index, path in enumerate(files):
            for item in reader.read_file(path, index, steps.read):
                importer.add(item)
        return importer.finish()


def import_resources(
    resources: Iterable[dict[str, Any]], *, origin: str = "<memory>"
) -> ImportSummary:
    """Import resources (dicts, Bundles allowed) given in memory; same rules as files."""
    importer = Importer([origin], Steps())
    for number, resource in enumerate(resources, start=1):
        for item in reader.expand(resource, (0, number)):
            importer.add(item)
    return importer.finish()

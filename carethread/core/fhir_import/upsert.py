"""Bulk "insert or update" of records into one model, matched by business key else source key.

Rows whose stored values already equal the input are left alone (no spurious updates).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import models

from carethread.core.fhir_import.insert import insert_rows
from carethread.core.fhir_import.records import ImportFailed, ImportIssue, Record

if TYPE_CHECKING:
    from carethread.core.fhir_import.engine import Importer

BATCH = 2000
LOOKUP_CHUNK = 900


@dataclass
class Outcome:
    created: list[Record] = field(default_factory=list)
    updated: list[Record] = field(default_factory=list)
    unchanged: list[Record] = field(default_factory=list)

    @property
    def counts(self) -> tuple[int, int]:
        return len(self.created), len(self.updated)


def chunks(items: Sequence[Any], size: int = LOOKUP_CHUNK) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def upsert(
    model: type[models.Model],
    records: list[Any],
    ctx: Importer,
    *,
    fields: Sequence[str],
    values: Callable[[Any], tuple[Any, ...]],
    match: Sequence[str] = (),
    keep_if_set: Sequence[str] = (),
) -> Outcome:
    """Write ``records``; ``values(record)`` gives the row's ``fields`` (foreign keys as ids).

    ``match`` names the fields of the business key (empty: match by source key only);
    fields in ``keep_if_set`` keep their stored value once it is not null.
    """
    rows = [values(r) for r in records]
    match_at = [fields.index(name) for name in match]
    keep_at = [fields.index(name) for name in keep_if_set]
    by_key: dict[str, tuple[Any, ...]] = {}
    by_business: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    columns = ("pk", "source_key", *fields)
    if model._default_manager.exists():
        keys = [r.key for r in records]
        for part in chunks(keys):
            for row in model._default_manager.filter(source_key__in=part).values_list(*columns):
                by_key[row[1]] = row
        if match:
            first = sorted({row[match_at[0]] for row in rows if row[match_at[0]] is not None})
            for part in chunks(first):
                found = model._default_manager.filter(**{f"{match[0]}__in": part})
                for row in found.values_list(*columns):
                    by_business[tuple(row[2 + i] for i in match_at)] = row
    outcome = Outcome()
    to_create: list[tuple[Any, ...]] = []
    to_update: list[models.Model] = []
    for record, new in zip(records, rows, strict=True):
        business = tuple(new[i] for i in match_at) if match else None
        found_b = by_business.get(business) if business and None not in business else None
        found_k = by_key.get(record.key)
        if found_b and found_k and found_b[0] != found_k[0]:
            raise ImportFailed(
                [
                    ImportIssue(
                        ctx.describe(record),
                        record.key,
                        f"matches one stored row by {'/'.join(match)} and another by its id",
                    )
                ]
            )
        existing = found_b or found_k
        if existing is None:
            to_create.append((record.key, *new))
            outcome.created.append(record)
            continue
        record.pk = existing[0]
        stored = existing[2:]
        if keep_at:
            new = tuple(
                stored[i] if i in keep_at and stored[i] is not None else value
                for i, value in enumerate(new)
            )
        source_key = existing[1] or record.key
        if new == stored and source_key == existing[1]:
            outcome.unchanged.append(record)
            continue
        to_update.append(
            model(pk=existing[0], source_key=source_key, **dict(zip(fields, new, strict=True)))
        )
        outcome.updated.append(record)
    if to_create:
        by_source = {r.key: r for r in outcome.created}
        for pk, key in insert_rows(
            model, ("source_key", *fields), to_create, returning="source_key"
        ):
            by_source[key].pk = pk
        ctx.advance(len(to_create))
    if to_update:
        model._default_manager.bulk_update(to_update, ["source_key", *fields], batch_size=500)
    ctx.advance(len(records) - len(to_create))
    return outcome

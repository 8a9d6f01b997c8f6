"""Fast multi-row INSERT for the import: the ORM's bulk_create costs more in Python than the
database spends writing, so rows are sent as plain tuples (values adapted once per column).

Works on SQLite (3.35+, for RETURNING) and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models
from django.db.models.options import Options

MAX_ROWS = 1000
SQLITE_MAX_PARAMS = 32000


def _adapter(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        return connection.ops.adapt_datetimefield_value
    if kind == "DateField":
        return connection.ops.adapt_datefield_value
    if kind == "UUIDField":
        return lambda value: field.get_db_prep_value(value, connection)
    return None


def _column(field: object) -> str:
    """The column of a concrete field (the primary key, a RETURNING column)."""
    assert isinstance(field, models.Field) and field.column is not None
    return field.column


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    returning: str | None = None,
) -> list[tuple[Any, Any]]:
    """Insert ``rows`` (values of ``columns``, given by attname); other fields take their model
    defaults. With ``returning`` (a column), return ``(pk, that column)`` of each new row."""
    meta = model._meta
    given = list(columns)
    extra = [
        f
        for f in meta.concrete_fields
        if f.attname not in given and not f.primary_key and f.has_default()
    ]
    fields: list[Any] = [meta.get_field(name) for name in given]
    adapters = [(i, a) for i, f in enumerate([*fields, *extra]) if (a := _adapter(f)) is not None]
    constants = [None if callable(f.default) else f.get_default() for f in extra]
    factories = [f.default if callable(f.default) else None for f in extra]
    names = ", ".join(connection.ops.quote_name(f.column) for f in [*fields, *extra])
    width = len(fields) + len(extra)
    per_statement = MAX_ROWS
    if connection.vendor == "sqlite":
        per_statement = min(MAX_ROWS, SQLITE_MAX_PARAMS // width)
    placeholder = "(" + ", ".join(["%s"] * width) + ")"
    tail = ""
    if returning:
        quote = connection.ops.quote_name
        returned = _column(meta.get_field(returning))
        tail = f" RETURNING {quote(_column(meta.pk))}, {quote(returned)}"
    table = connection.ops.quote_name(meta.db_table)
    results: list[tuple[Any, Any]] = []
    if connection.vendor == "postgresql":
        return _copy_rows(meta, table, names, rows, constants, factories, returning, given)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            params: list[Any] = []
            for row in part:
                full = list(row)
                for constant, factory in zip(constants, factories, strict=True):
                    full.append(factory() if factory is not None else constant)
                for index, adapt in adapters:
                    if full[index] is not None:
                        full[index] = adapt(full[index])
                params.extend(full)
            values = ", ".join([placeholder] * len(part))
            cursor.execute(f"INSERT INTO {table} ({names}) VALUES {values}{tail}", params)  # noqa: S608
            if returning:
                results.extend(cursor.fetchall())
    return results


def _copy_rows(
    meta: Options[models.Model],
    table: str,
    names: str,
    rows: Sequence[tuple[Any, ...]],
    constants: list[Any],
    factories: list[Any],
    returning: str | None,
    given: list[str],
) -> list[tuple[Any, Any]]:
    """PostgreSQL: take ids from the table's sequence, then COPY the rows in with them."""
    ids: list[int] = []
    with connection.cursor() as cursor:
        if returning:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            names = f"{connection.ops.quote_name(_column(meta.pk))}, {names}"
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for index, row in enumerate(rows):
                full = [ids[index]] if returning else []
                full.extend(row)
                for constant, factory in zip(constants, factories, strict=True):
                    full.append(factory() if factory is not None else constant)
                copy.write_row(full)
    if not returning:
        return []
    at = given.index(returning)
    return [(ids[index], row[at]) for index, row in enumerate(rows)]

"""Which resource types the importer reads, and in which order they are written.

A handler is a module (or any object) with:

* ``RESOURCE_TYPE`` — e.g. "Patient"; ``MODEL`` — the Django model holding ``source_key``;
* ``DEPENDS_ON`` — resource types whose rows must exist before this one is written;
* ``parse(resource, issues) -> Record | None`` — validate one resource, append what is wrong;
* ``references(record)`` — yields ``(element, reference, allowed target types)``;
* ``business_key(record)`` — ``(label, value)`` such as ``("NPI", "1234567893")`` or ``None``;
* ``check(records, ctx)`` (optional) — cross-record checks after references resolve,
  returning ``[(record, message)]``;
* ``write(records, ctx) -> (created, updated)`` — bulk write inside the import transaction.

Core registers its handlers here; another app registers its own from ``AppConfig.ready()``
with ``register(module)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from django.db import models

    from carethread.core.fhir_import.engine import Importer
    from carethread.core.fhir_import.records import Record

CORE_HANDLERS = (
    "organization",
    "location",
    "practitioner",
    "practitioner_role",
    "patient",
    "related_person",
    "encounter",
)


class ResourceHandler(Protocol):
    """What a handler module holds (the constants are read-only: a module's narrower ones fit)."""

    @property
    def RESOURCE_TYPE(self) -> str: ...

    @property
    def DEPENDS_ON(self) -> tuple[str, ...]: ...

    @property
    def MODEL(self) -> type[models.Model]: ...

    def parse(self, resource: dict[str, Any], issues: list[str]) -> Record | None: ...

    def references(self, record: Any) -> Iterable[tuple[str, str, tuple[str, ...]]]: ...

    def business_key(self, record: Any) -> tuple[str, str] | None: ...

    def write(self, records: list[Any], ctx: Importer) -> tuple[int, int]: ...


_handlers: dict[str, ResourceHandler] = {}
_core_loaded = False


def register(handler: ResourceHandler) -> None:
    """Add (or replace) the handler of ``handler.RESOURCE_TYPE``."""
    _handlers[handler.RESOURCE_TYPE] = handler


def _load_core() -> None:
    global _core_loaded
    if not _core_loaded:
        for name in CORE_HANDLERS:
            register(importlib.import_module(f"carethread.core.fhir_import.resources.{name}"))
        _core_loaded = True


def handler_for(resource_type: str) -> ResourceHandler | None:
    _load_core()
    return _handlers.get(resource_type)


def write_order() -> list[ResourceHandler]:
    """All handlers, each after the types it depends on (dependencies on itself are its own job)."""
    _load_core()
    order: list[ResourceHandler] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name) == 2 or name not in _handlers:
            return
        if state.get(name) == 1:
            raise RuntimeError(f"FHIR import handlers depend on each other in a cycle at {name}")
        state[name] = 1
        for dep in _handlers[name].DEPENDS_ON:
            if dep != name:
                visit(dep)
        state[name] = 2
        order.append(_handlers[name])

    for name in sorted(_handlers):
        visit(name)
    return order

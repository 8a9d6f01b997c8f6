"""FHIR import of Communication (historical secure messages) and Group (care-team pools),
registered with the core importer (the handlers are in ``carethread.messaging.fhir``)."""

from __future__ import annotations


def register() -> None:
    """Add this app's resource handlers to ``carethread.core.fhir_import``."""
    from carethread.core.fhir_import import registry
    from carethread.messaging.fhir import communication, group

    registry.register(group)
    registry.register(communication)

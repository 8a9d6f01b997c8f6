"""FHIR import of Communication (historical secure messages), registered with the core importer."""

from __future__ import annotations


def register() -> None:
    """Add this app's resource handlers to ``carethread.core.fhir_import``."""
    return None

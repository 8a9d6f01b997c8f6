"""Triage hooks called by the sending actions (routing, acknowledgements, out-of-office)."""

from __future__ import annotations

from typing import Any

from carethread.core.models import CareTeamPool, Organization


def route_pool(organization: Organization, category: str) -> CareTeamPool | None:
    """The pool a new patient thread of ``category`` goes to, by the routing rules."""
    return None


def after_patient_message(thread: Any, message: Any, *, new_thread: bool) -> None:
    """Run inside the sending transaction after a patient-side message was posted."""
    return None

"""REST routes of the triage workflow: claim, assign, status, notes, templates, outreach."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["triage"])

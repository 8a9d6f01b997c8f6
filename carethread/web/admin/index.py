"""``/practice/``: the administration index. For each practice the signed-in user administers,
the areas they can open there; then the pages that cover all their practices, and the audit
pages for auditors. Only the areas whose pages exist are listed: each is looked up by its URL
name, and a name that does not resolve is left out. Someone who is neither an administrator nor
an auditor gets the house's 404 page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from carethread.accounts.access import admin_organizations
from carethread.core.models import Organization
from carethread.web.context import rights
from carethread.web.decorators import AuthedRequest, signed_in_never_cached


@dataclass(frozen=True)
class Area:
    """One administration area: its title, a sentence on what is done there, and the URL names
    its page may have (the first that resolves is linked)."""

    title: str
    text: str
    names: tuple[str, ...]


# Per practice: each name takes the practice's UUID (``org_uuid``).
PRACTICE_AREAS = (
    Area(
        "Practice profile",
        "The practice's name and the phone number patients are told to call.",
        ("practice_profile",),
    ),
    Area(
        "Locations",
        "Offices with their place-of-service code, state and county.",
        ("practice_locations",),
    ),
    Area(
        "Clinicians and staff",
        "Add people, their role and rights; deactivate someone who leaves.",
        ("admin_people",),
    ),
    Area(
        "Invitations",
        "Invitations sent to practice users and patients: sent, expired or used; resend or revoke.",
        ("admin_invitations",),
    ),
    Area(
        "Messaging settings",
        "Messaging on or off, the reply window, response-time targets and the automatic "
        "acknowledgement.",
        ("practice_messaging_settings",),
    ),
    Area("Pools", "Shared inboxes and who works in them.", ("practice_pools",)),
    Area(
        "Routing rules",
        "Which pool receives patients' messages of each category.",
        ("practice_routing",),
    ),
    Area("Templates", "Reply templates and their placeholders.", ("practice_templates",)),
    Area(
        "Import FHIR data",
        "Upload patients, clinicians and visits exported from your EHR.",
        ("practice_import", "admin_import"),
    ),
)
# For every practice the user administers at once (no UUID).
ADMIN_AREAS = (
    Area(
        "Patients' portal access",
        "Invite patients and representatives, block and restore portal access.",
        ("portal_access",),
    ),
    Area(
        "Secure messaging measure",
        "The CMS Secure Electronic Messaging measure, its trend and the patients it misses.",
        ("measures_dashboard",),
    ),
    Area(
        "Email notification delivery",
        "Whether notification emails reach the mail server.",
        ("delivery_health",),
    ),
)
AUDIT_AREAS = (
    Area(
        "Audit report",
        "Who did what, when and from where, with filters and a CSV export.",
        ("audit_report",),
    ),
)
# For administrators and auditors alike.
EMERGENCY_AREAS = (
    Area(
        "Emergency-access report",
        "Every use of emergency access, with its reason and what was opened.",
        ("emergency_access_report",),
    ),
)


def link(area: Area, **kwargs: str) -> dict[str, str] | None:
    """The area with the address of its page, or None when it has none yet."""
    for name in area.names:
        try:
            url = reverse(name, kwargs=kwargs or None)
        except NoReverseMatch:
            continue
        return {"title": area.title, "text": area.text, "url": url}
    return None


def links(areas: tuple[Area, ...], **kwargs: str) -> list[dict[str, str]]:
    return [found for area in areas if (found := link(area, **kwargs)) is not None]


def practice_links(org: Organization) -> list[dict[str, str]]:
    return links(PRACTICE_AREAS, org_uuid=str(org.uuid))


@require_GET
@signed_in_never_cached
def admin_index(request: AuthedRequest) -> HttpResponse:
    orgs = list(admin_organizations(request.user).order_by("name", "pk"))
    held = rights(request.user)
    if not orgs and not held.auditor:
        raise Http404
    general = links(ADMIN_AREAS) if orgs else []
    if held.auditor:
        general += links(AUDIT_AREAS)
    general += links(EMERGENCY_AREAS)
    context = {
        "practices": [{"org": org, "areas": practice_links(org)} for org in orgs],
        "general": general,
    }
    return render(request, "admin/index.html", context)

"""``/practice/emergency-access``: a practice user holding the emergency-access right finds a
patient of their practice, states a reason and opens the patient's threads read-only for the
practice's set time; the page lists the running accesses with the threads each opens and ends
one early.

It lives with the messaging pages, not the administration pages: it is a practice user's tool
for reading threads (an administrator holds no such right by being one), built on the
messaging gate (``Viewer.emergency_grants``) and the thread list (``queries.inbox``). Starting
needs a fresh re-authentication; anyone without the right gets the same 404 as a missing page.
"""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from carethread.core.models import Organization
from carethread.messaging import emergency, queries
from carethread.messaging.access import Viewer
from carethread.messaging.errors import MessagingError
from carethread.web.decorators import AuthedRequest, signed_in_never_cached
from carethread.web.messaging import reads
from carethread.web.messaging.emergency_forms import (
    NO_PATIENT,
    EmergencyEndForm,
    EmergencyStartForm,
)

# Which form field a refusal of the start action belongs to.
ERROR_FIELDS = {
    "bad_reason": "reason",
    "explanation_required": "explanation",
    "too_long": "explanation",
}


def _practices(viewer: Viewer) -> list[Organization]:
    practices = list(emergency.emergency_organizations(viewer))
    if not practices:
        raise Http404
    return practices


def _running(viewer: Viewer) -> list[dict[str, Any]]:
    """Each running access with the threads it lets the viewer open (through the gate)."""
    rows = []
    for grant in emergency.running(viewer):
        wanted = queries.InboxFilter(box="patient", patient=grant.patient.uuid)
        threads = [
            row
            for row in queries.inbox(viewer, wanted, limit=queries.MAX_PAGE)
            if row.thread.organization_id == grant.organization_id
        ]
        rows.append(
            {
                "grant": grant,
                "threads": threads,
                "end_form": EmergencyEndForm(initial={"access": str(grant.uuid)}),
            }
        )
    return rows


def _page(
    request: AuthedRequest, viewer: Viewer, form: EmergencyStartForm, status: int = 200
) -> HttpResponse:
    context = {"form": form, "running": _running(viewer)}
    return render(request, "messaging/emergency_access.html", context, status=status)


@reauthentication_required
def _emergency_page(
    request: AuthedRequest, viewer: Viewer, practices: list[Organization]
) -> HttpResponse:
    choices = [(str(org.uuid), org.name) for org in practices]
    if request.method != "POST":
        return _page(request, viewer, EmergencyStartForm(practices=choices))
    form = EmergencyStartForm(request.POST, practices=choices)
    if not form.is_valid():
        return _page(request, viewer, form, status=400)
    data = form.cleaned_data
    organization = next(org for org in practices if str(org.uuid) == data["organization"])
    patient = emergency.find_patient(
        viewer,
        organization,
        mrn=data.get("mrn") or "",
        family_name=data.get("family_name") or "",
        birth_date=data.get("birth_date"),
    )
    if patient is None:
        form.add_error("mrn" if (data.get("mrn") or "").strip() else "family_name", NO_PATIENT)
        return _page(request, viewer, form, status=400)
    try:
        emergency.start_emergency_access(
            viewer,
            organization=organization,
            patient=patient,
            reason=data["reason"],
            explanation=data.get("explanation") or "",
            request=request,
        )
    except MessagingError as error:
        form.add_error(ERROR_FIELDS.get(error.code), error.message)
        return _page(request, viewer, form, status=error.status)
    messages.warning(
        request,
        f"Emergency access started for {organization.emergency_access_minutes} minutes. "
        "Every conversation you open is recorded.",
    )
    return redirect("emergency_access")


@signed_in_never_cached
@require_http_methods(["GET", "POST"])
def emergency_access(request: AuthedRequest) -> HttpResponse:
    viewer = reads.viewer_of(request)
    practices = _practices(viewer)
    response: HttpResponse = _emergency_page(request, viewer, practices)
    return response


@signed_in_never_cached
@require_POST
def emergency_access_end(request: AuthedRequest) -> HttpResponse:
    viewer = reads.viewer_of(request)
    form = EmergencyEndForm(request.POST)
    if not form.is_valid():
        raise Http404
    emergency.end_emergency_access(viewer, form.cleaned_data["access"], request=request)
    messages.success(request, "Emergency access ended.")
    if emergency.emergency_organizations(viewer).exists():
        return redirect("emergency_access")
    return redirect("messaging_inbox")

"""Quick-reply templates: placeholders filled in for one patient.

A template text may hold these placeholders, and no others::

    {patient_first_name} {patient_name} {clinician_name} {practice_name}
    {expected_response} {portal_url}

``{{`` and ``}}`` stand for literal braces. Substitution is one pass of a regular expression
over the template text: values are inserted as they are, never read as placeholders again, and
no attribute or index lookup (``{x.y}``, ``{x[0]}``) exists, unlike ``str.format``. Any other
``{...}`` makes the template invalid (``MessagingError("bad_template")``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

from carethread.core.models import CareTeamPool, Organization, Patient, Practitioner
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Template, Thread

PLACEHOLDERS = (
    "patient_first_name",
    "patient_name",
    "clinician_name",
    "practice_name",
    "expected_response",
    "portal_url",
)

# "{{" and "}}" (escaped braces), or one "{...}" without braces inside.
TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


@dataclass
class Rendered:
    subject: str
    body: str


def placeholders_in(text: str) -> set[str]:
    """The placeholder names ``text`` uses; ``bad_template`` for an unknown one."""
    names = {m.group(1) for m in TOKEN.finditer(text or "") if m.group(1) is not None}
    if names - set(PLACEHOLDERS):
        raise MessagingError("bad_template")
    return names


def check(*texts: str) -> None:
    """Refuse texts with unknown placeholders (run when a template is saved)."""
    for text in texts:
        placeholders_in(text)


def substitute(text: str, values: dict[str, str]) -> str:
    """``text`` with each placeholder replaced by ``values[name]``."""

    def one(match: re.Match[str]) -> str:
        found = match.group(0)
        if found == "{{":
            return "{"
        if found == "}}":
            return "}"
        name = match.group(1)
        if name not in values:
            raise MessagingError("bad_template")
        return values[name]

    return TOKEN.sub(one, text or "")


def expected_response(hours: int) -> str:
    """A response time as patients read it: "within 3 business days", "within 4 hours"."""
    if hours <= 0:
        return "as soon as possible"
    if hours % 24 == 0:
        days = hours // 24
        return "within 1 business day" if days == 1 else f"within {days} business days"
    return "within 1 hour" if hours == 1 else f"within {hours} hours"


def response_hours(organization: Organization, pool: CareTeamPool | None = None) -> int:
    """The response-time target: the pool's when it has one, else the practice's."""
    if pool is not None and pool.response_target_hours:
        return int(pool.response_target_hours)
    return int(organization.expected_response_hours)


def portal_url() -> str:
    return str(settings.CARETHREAD_BASE_URL).rstrip("/") + "/"


def values_for(
    *,
    patient: Patient,
    organization: Organization,
    clinician: Practitioner | None = None,
    pool: CareTeamPool | None = None,
) -> dict[str, str]:
    """The placeholder values for one patient (the clinician may be unknown: the practice)."""
    return {
        "patient_first_name": patient.given_name or patient.display_name,
        "patient_name": patient.display_name,
        "clinician_name": clinician.display_name if clinician is not None else organization.name,
        "practice_name": organization.name,
        "expected_response": expected_response(response_hours(organization, pool)),
        "portal_url": portal_url(),
    }


def render_text(subject: str, body: str, values: dict[str, str]) -> Rendered:
    return Rendered(subject=substitute(subject, values), body=substitute(body, values))


def render(
    template: Template,
    *,
    patient: Patient,
    organization: Organization,
    clinician: Practitioner | None = None,
    pool: CareTeamPool | None = None,
) -> Rendered:
    """``template`` filled in for ``patient`` of ``organization`` (see ``values_for``)."""
    values = values_for(patient=patient, organization=organization, clinician=clinician, pool=pool)
    return render_text(template.subject, template.body, values)


def render_for_thread(
    template: Template, thread: Thread, *, clinician: Practitioner | None = None
) -> Rendered:
    """``template`` filled in for a reply in ``thread``: its patient, practice and pool; the
    clinician is ``clinician``, else the thread's assignee."""
    return render(
        template,
        patient=thread.patient,
        organization=thread.organization,
        clinician=clinician or thread.assignee,
        pool=thread.pool,
    )

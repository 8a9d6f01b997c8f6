"""``/practice/measures/outreach``: "message these patients" from a measure row's gap.

The chosen gap patients travel in the POST body (never in a URL); the form takes subject, body,
category and the clinician written for, then ``outreach.preview`` shows who is reached and who
is skipped, and ``outreach.confirm`` / ``outreach.cancel`` finish it. Only patients and practices
the user administers are ever considered.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from carethread.accounts.access import patients_for_admin
from carethread.core.models import Organization, Practitioner
from carethread.measures.access import administered_practice
from carethread.messaging import outreach as outreach_actions
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Outreach
from carethread.web.decorators import AuthedRequest, signed_in_never_cached
from carethread.web.measures.forms import (
    OutreachForm,
    ReportQuery,
    admin_orgs,
    outsiders_404,
    read_query,
)
from carethread.web.messaging import reads
from carethread.web.messaging.pages import form_error

SKIPPED = {
    outreach_actions.NOT_PATIENT: "not a patient of this practice",
    outreach_actions.NOT_ENROLLED: "no portal access yet: invite first",
    outreach_actions.BLOCKED: "portal access blocked",
}


def outreach_organization(
    data: QueryDict, orgs: dict[str, Organization]
) -> tuple[Organization, ReportQuery]:
    """The practice an outreach is sent from: the row's, else the report's (administered)."""
    _form, query = read_query(data, orgs)
    if query is None:
        raise Http404
    tin = data.get("row_tin") or query.tin or (next(iter(orgs)) if len(orgs) == 1 else "")
    with outsiders_404():
        return administered_practice(orgs, tin), query


def back_url(data: QueryDict, orgs: dict[str, Organization]) -> str:
    _form, query = read_query(data, orgs)
    if query is None:
        return reverse("measures_dashboard")
    return query.url("measures_patients", row_tin=data.get("row_tin"), row_npi=data.get("row_npi"))


@signed_in_never_cached
@require_POST
def outreach(request: AuthedRequest) -> HttpResponse:
    orgs = admin_orgs(request)
    organization, query = outreach_organization(request.POST, orgs)
    viewer = reads.viewer_of(request)
    keys = []
    for value in request.POST.getlist("candidate"):
        try:
            keys.append(str(reads.parse_uuid(value)))
        except Http404:
            continue
    # Only patients of the practices the user administers: a UUID says nothing otherwise.
    found = {
        str(p.uuid): p for p in patients_for_admin(request.user).filter(uuid__in=keys[:10_000])
    }
    candidates = [found[key] for key in dict.fromkeys(keys) if key in found]
    limit = settings.CARETHREAD_OUTREACH_LIMIT
    row_npi = request.POST.get("row_npi") or ""
    clinicians = reads.clinician_choices(viewer, [organization])
    row_clinician = Practitioner.objects.filter(npi=row_npi).first() if row_npi else None
    initial: dict[str, object] = {"patients": [str(p.uuid) for p in candidates[:limit]]}
    if row_clinician is not None and any(
        key == str(row_clinician.uuid) for key, _ in clinicians or []
    ):
        initial["on_behalf_of"] = str(row_clinician.uuid)
    previewing = request.POST.get("stage") == "preview"
    form = OutreachForm(
        request.POST if previewing else None,
        initial=initial,
        patients=[(str(p.uuid), f"{p.display_name} (MRN {p.mrn})") for p in candidates],
        clinicians=clinicians,
    )
    context: dict[str, object] = {
        "form": form,
        "organization": organization,
        "report_fields": query.fields(),
        "row_tin": request.POST.get("row_tin") or "",
        "row_npi": row_npi,
        "back_url": back_url(request.POST, orgs),
        "limit": limit,
        "over_limit": len(candidates) > limit,
        "candidates": candidates,
        "row_clinician": row_clinician,
        "sender_is_row_clinician": row_clinician is not None
        and viewer.practitioner is not None
        and row_clinician.pk == viewer.practitioner.pk,
    }
    if previewing and form.is_valid():
        data = form.cleaned_data
        behalf = next(iter(reads.practitioners_by_uuid([data.get("on_behalf_of") or ""])), None)
        try:
            row = outreach_actions.preview(
                request.user,
                organization=organization,
                patients=data["patients"],
                category=data["category"],
                subject=data["subject"],
                body=data["body"],
                on_behalf_of=behalf,
                request=request,
            )
        except MessagingError as error:
            form_error(form, error)
        else:
            summary: outreach_actions.OutreachSummary = row.summary  # type: ignore[attr-defined]
            by_uuid = {str(p.uuid): p for p in candidates}
            context.update(
                outreach=row,
                reachable=[by_uuid[str(u)] for u in summary.reachable if str(u) in by_uuid],
                skipped=[
                    (by_uuid.get(key), SKIPPED.get(reason, reason))
                    for key, reason in summary.skipped
                ],
                sample_subject=summary.sample_subject,
                sample_body=summary.sample_body,
            )
            return render(request, "measures/outreach_preview.html", context)
    status = 400 if form.errors else 200
    return render(request, "measures/outreach_compose.html", context, status=status)


def _own_outreach(
    request: AuthedRequest, outreach_uuid: str, orgs: dict[str, Organization]
) -> Outreach:
    """The caller's own outreach, from a practice they still administer; else the house's 404."""
    row = outreach_actions.outreach_for(request.user, reads.parse_uuid(outreach_uuid))
    with outsiders_404():
        administered_practice(orgs, row.organization.tin)
    return row


def _finish(
    request: AuthedRequest, outreach_uuid: str, act: Callable[[Outreach], str]
) -> HttpResponse:
    """Confirm or cancel the caller's own outreach with ``act`` (which says what was done),
    then back to the report's row; a refusal is shown there."""
    orgs = admin_orgs(request)
    row = _own_outreach(request, outreach_uuid, orgs)
    try:
        done = act(row)
    except MessagingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect(back_url(request.POST, orgs))


@signed_in_never_cached
@require_POST
def outreach_confirm(request: AuthedRequest, outreach_uuid: str) -> HttpResponse:
    def act(row: Outreach) -> str:
        n = len(outreach_actions.confirm(request.user, row, request=request))
        return f"{n} message{'s' if n != 1 else ''} sent: one new conversation per patient."

    return _finish(request, outreach_uuid, act)


@signed_in_never_cached
@require_POST
def outreach_cancel(request: AuthedRequest, outreach_uuid: str) -> HttpResponse:
    def act(row: Outreach) -> str:
        outreach_actions.cancel(request.user, row, request=request)
        return "The outreach was cancelled; nothing was sent."

    return _finish(request, outreach_uuid, act)

"""REST routes of the triage workflow: claim, assign, status, notes, templates, practice
settings, out-of-office and outreach.

Threads are looked up only through the practice side's access gate (``access_practice_thread``):
a patient, a representative or a practice user who may not see the thread gets the same 404 as
for a thread that does not exist. Practice settings answer 404 to anyone but the practice's
administrators (``access_admin_organization``). A refused action raises ``MessagingError``,
which the API's handler (``api/errors.py``) answers with ``{"detail", "code"}`` and its status
(409 for ``stale`` / ``already_claimed``). The three state changes take the version the caller
last saw in ``If-Match`` (read by ``preconditions``) and answer with the new one in ``ETag``.
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from ninja import Router, Status

from carethread.accounts import roles
from carethread.accounts.access import access_admin_organization, admin_organizations
from carethread.api import preconditions
from carethread.api.auth import caller
from carethread.api.schemas import REFUSED, Error, Invalid
from carethread.api.triage_schemas import (
    AssignIn,
    NoteIn,
    NoteOut,
    OutOfOfficeIn,
    OutOfOfficeOut,
    OutreachIn,
    OutreachPreviewOut,
    OutreachSentOut,
    OutreachStateOut,
    PracticeSettingsIn,
    PracticeSettingsOut,
    RenderedOut,
    ResponseTargetIn,
    RoutingIn,
    StatusIn,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
    ThreadState,
)
from carethread.core.models import CareTeamPool, Organization, Practitioner
from carethread.messaging import outreach as outreach_actions
from carethread.messaging import practice_settings, templates, workflow
from carethread.messaging.access import Viewer, access_practice_thread, viewer_for
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import OutOfOffice, RoutingRule, Template, Thread

router = Router(tags=["triage"])


# -- lookups -------------------------------------------------------------------------------------


def member_organization(viewer: Viewer, org_uuid: UUID) -> Organization:
    organization = Organization.objects.filter(
        uuid=org_uuid, pk__in=list(viewer.memberships)
    ).first()
    if viewer.practitioner is None or organization is None:
        raise Http404
    return organization


def practitioner_by_uuid(uuid: UUID | None, code: str) -> Practitioner | None:
    if uuid is None:
        return None
    found = Practitioner.objects.filter(uuid=uuid).first()
    if found is None:
        raise MessagingError(code)
    return found


# -- answers -------------------------------------------------------------------------------------


def thread_state(thread: Thread) -> dict[str, Any]:
    now = timezone.now()
    return {
        "uuid": thread.uuid,
        "status": thread.status,
        "assignee": thread.assignee.uuid if thread.assignee_id and thread.assignee else None,
        "pool": thread.pool.uuid if thread.pool_id and thread.pool else None,
        "version": thread.version,
        "awaiting_reply_since": thread.awaiting_reply_since,
        "reply_due_at": thread.reply_due_at,
        "overdue": thread.reply_due_at is not None and thread.reply_due_at < now,
        "closed_at": thread.closed_at,
    }


def state_response(thread: Thread) -> JsonResponse:
    body = ThreadState(**thread_state(thread)).model_dump(mode="json")
    response = JsonResponse(body)
    response["ETag"] = f'"{thread.version}"'
    return response


def template_out(template: Template) -> dict[str, Any]:
    return {
        "uuid": template.uuid,
        "organization": template.organization.uuid,
        "name": template.name,
        "category": template.category,
        "subject": template.subject,
        "body": template.body,
        "active": template.active,
    }


def settings_out(organization: Organization) -> dict[str, Any]:
    rules = RoutingRule.objects.filter(organization=organization).select_related("pool")
    pools = CareTeamPool.objects.filter(organization=organization).order_by("name", "pk")
    return {
        "organization": organization.uuid,
        "messaging_enabled": organization.messaging_enabled,
        "expected_response_hours": organization.expected_response_hours,
        "reply_window_days": organization.reply_window_days,
        "relationship_lookback_days": organization.relationship_lookback_days,
        "auto_acknowledge": organization.auto_acknowledge,
        "notify_sender_name": organization.notify_sender_name,
        "routing": [
            {"category": r.category, "pool": r.pool.uuid}
            for r in sorted(rules, key=lambda r: r.category)
        ],
        "pools": [
            {
                "uuid": p.uuid,
                "name": p.name,
                "active": p.active,
                "response_target_hours": p.response_target_hours,
            }
            for p in pools
        ],
    }


def practice_pool(
    organization: Organization, pool_uuid: UUID, *, missing: Exception
) -> CareTeamPool:
    """A care-team pool of ``organization``; ``missing`` is raised for any other UUID."""
    pool = CareTeamPool.objects.filter(uuid=pool_uuid, organization=organization).first()
    if pool is None:
        raise missing
    return pool


def administered_template(request: HttpRequest, template_uuid: UUID) -> Template:
    """A template of a practice the caller administers; 404 for any other, as for none."""
    template = (
        Template.objects.filter(
            uuid=template_uuid, organization__in=admin_organizations(caller(request))
        )
        .select_related("organization")
        .first()
    )
    if template is None:
        raise Http404
    return template


def absence_out(absence: OutOfOffice) -> dict[str, Any]:
    return {
        "uuid": absence.uuid,
        "starts_at": absence.starts_at,
        "ends_at": absence.ends_at,
        "reply_text": absence.reply_text,
        "delegate": absence.delegate.uuid if absence.delegate is not None else None,
    }


# -- thread workflow -----------------------------------------------------------------------------


@router.post(
    "/threads/{thread_uuid}/claim",
    response={200: ThreadState, **REFUSED},
    summary="Claim a thread (become its assignee when nobody is)",
)
def claim_thread(
    request: HttpRequest, thread_uuid: UUID, if_match: str | None = preconditions.if_match_header()
) -> Any:
    thread, viewer = access_practice_thread(caller(request), thread_uuid)
    version = preconditions.expected_version(if_match)
    workflow.claim(
        caller(request), thread, expected_version=version, request=request, viewer=viewer
    )
    thread.refresh_from_db()
    return state_response(thread)


@router.post(
    "/threads/{thread_uuid}/assign",
    response={200: ThreadState, **REFUSED},
    summary="Assign, reassign or unassign (assignee null) a thread",
)
def assign_thread(
    request: HttpRequest,
    thread_uuid: UUID,
    payload: AssignIn,
    if_match: str | None = preconditions.if_match_header(),
) -> Any:
    thread, viewer = access_practice_thread(caller(request), thread_uuid)
    version = preconditions.expected_version(if_match)
    assignee = practitioner_by_uuid(payload.assignee, "bad_assignee")
    workflow.assign(
        caller(request), thread, assignee, expected_version=version, request=request, viewer=viewer
    )
    thread.refresh_from_db()
    return state_response(thread)


@router.post(
    "/threads/{thread_uuid}/status",
    response={200: ThreadState, **REFUSED},
    summary="Mark a thread open (reopen), done or closed",
)
def thread_status(
    request: HttpRequest,
    thread_uuid: UUID,
    payload: StatusIn,
    if_match: str | None = preconditions.if_match_header(),
) -> Any:
    thread, viewer = access_practice_thread(caller(request), thread_uuid)
    version = preconditions.expected_version(if_match)
    workflow.set_status(
        caller(request),
        thread,
        payload.status,
        expected_version=version,
        request=request,
        viewer=viewer,
    )
    thread.refresh_from_db()
    return state_response(thread)


@router.post(
    "/threads/{thread_uuid}/notes",
    response={201: NoteOut, **REFUSED},
    summary="Add an internal note (practice users only)",
)
def add_note(request: HttpRequest, thread_uuid: UUID, payload: NoteIn) -> Any:
    thread, viewer = access_practice_thread(caller(request), thread_uuid)
    note = workflow.add_note(caller(request), thread, payload.body, request=request, viewer=viewer)
    return Status(
        201,
        {
            "uuid": note.uuid,
            "thread": thread.uuid,
            "author": note.author.uuid,
            "created_at": note.created_at,
        },
    )


# -- templates -----------------------------------------------------------------------------------


@router.get(
    "/templates",
    response={200: list[TemplateOut], 401: Error, 422: Invalid},
    summary="Templates of the caller's practices",
)
def list_templates(
    request: HttpRequest, organization: UUID | None = None, include_inactive: bool = False
) -> Any:
    viewer = viewer_for(caller(request))
    rows = Template.objects.filter(organization_id__in=list(viewer.memberships))
    if viewer.practitioner is None:
        rows = rows.none()
    if organization is not None:
        rows = rows.filter(organization__uuid=organization)
    if not include_inactive:
        rows = rows.filter(active=True)
    return [
        template_out(t)
        for t in rows.select_related("organization").order_by("organization__name", "name")
    ]


@router.post(
    "/templates",
    response={201: TemplateOut, **REFUSED},
    summary="Create a template (practice administrators)",
)
def create_template(request: HttpRequest, payload: TemplateIn) -> Any:
    organization = access_admin_organization(caller(request), payload.organization)
    template = practice_settings.create_template(
        caller(request),
        organization,
        name=payload.name,
        subject=payload.subject,
        body=payload.body,
        category=payload.category,
        request=request,
    )
    return Status(201, template_out(template))


@router.patch(
    "/templates/{template_uuid}",
    response={200: TemplateOut, **REFUSED},
    summary="Change a template (practice administrators)",
)
def update_template(request: HttpRequest, template_uuid: UUID, payload: TemplatePatch) -> Any:
    template = administered_template(request, template_uuid)
    change = cast(practice_settings.TemplateChange, payload.model_dump(exclude_unset=True))
    template = practice_settings.update_template(caller(request), template, change, request=request)
    return template_out(template)


@router.delete(
    "/templates/{template_uuid}",
    response={204: None, **REFUSED},
    summary="Retire a template (practice administrators; kept for the record, listed as inactive)",
)
def delete_template(request: HttpRequest, template_uuid: UUID) -> Any:
    template = administered_template(request, template_uuid)
    practice_settings.deactivate_template(caller(request), template, request=request)
    return HttpResponse(status=204)


@router.get(
    "/templates/{template_uuid}/render",
    response={200: RenderedOut, **REFUSED},
    summary="A template filled in for a thread",
)
def render_template(request: HttpRequest, template_uuid: UUID, thread: UUID) -> Any:
    row, _viewer = access_practice_thread(caller(request), thread)
    template = Template.objects.filter(
        uuid=template_uuid, organization_id=row.organization_id, active=True
    ).first()
    if template is None:
        raise Http404
    rendered = templates.render_for_thread(template, row, clinician=row.assignee)
    return {"subject": rendered.subject, "body": rendered.body}


# -- practice settings ---------------------------------------------------------------------------


@router.get(
    "/practices/{org_uuid}/settings",
    response={200: PracticeSettingsOut, 401: Error, 404: Error, 422: Invalid},
    summary="A practice's messaging settings (practice administrators)",
)
def get_practice_settings(request: HttpRequest, org_uuid: UUID) -> Any:
    return settings_out(access_admin_organization(caller(request), org_uuid))


@router.put(
    "/practices/{org_uuid}/settings",
    response={200: PracticeSettingsOut, **REFUSED},
    summary="Change a practice's messaging settings (only the fields sent)",
)
def put_practice_settings(request: HttpRequest, org_uuid: UUID, payload: PracticeSettingsIn) -> Any:
    organization = access_admin_organization(caller(request), org_uuid)
    # The schema's fields are the settings' names; a field not sent (or null) is left out.
    change = cast(practice_settings.SettingsChange, payload.model_dump(exclude_none=True))
    practice_settings.update_practice_settings(
        caller(request), organization, change, request=request
    )
    return settings_out(organization)


@router.put(
    "/practices/{org_uuid}/routing/{category}",
    response={200: PracticeSettingsOut, **REFUSED},
    summary="Route new patient threads of a category to a pool",
)
def put_routing_rule(
    request: HttpRequest, org_uuid: UUID, category: str, payload: RoutingIn
) -> Any:
    organization = access_admin_organization(caller(request), org_uuid)
    pool = practice_pool(organization, payload.pool, missing=MessagingError("bad_pool"))
    practice_settings.set_routing_rule(
        caller(request), organization, category, pool, request=request
    )
    return settings_out(organization)


@router.put(
    "/practices/{org_uuid}/pools/{pool_uuid}/response-target",
    response={200: PracticeSettingsOut, **REFUSED},
    summary="Set a pool's response-time target in hours (null: the practice's)",
)
def put_pool_response_target(
    request: HttpRequest, org_uuid: UUID, pool_uuid: UUID, payload: ResponseTargetIn
) -> Any:
    organization = access_admin_organization(caller(request), org_uuid)
    pool = practice_pool(organization, pool_uuid, missing=Http404())
    practice_settings.set_pool_response_target(
        caller(request), pool, payload.hours, request=request
    )
    return settings_out(organization)


@router.delete(
    "/practices/{org_uuid}/routing/{category}",
    response={204: None, **REFUSED},
    summary="Remove the routing rule of a category",
)
def delete_routing_rule(request: HttpRequest, org_uuid: UUID, category: str) -> Any:
    organization = access_admin_organization(caller(request), org_uuid)
    practice_settings.delete_routing_rule(caller(request), organization, category, request=request)
    return HttpResponse(status=204)


# -- out of office -------------------------------------------------------------------------------


@router.get(
    "/me/out-of-office",
    response={200: OutOfOfficeOut, 204: None, 401: Error},
    summary="The caller's out-of-office now in force or next to come (204: none)",
)
def get_out_of_office(request: HttpRequest) -> Any:
    absence = practice_settings.current_out_of_office(caller(request))
    if absence is None:
        return HttpResponse(status=204)
    return absence_out(absence)


@router.put(
    "/me/out-of-office",
    response={200: OutOfOfficeOut, **REFUSED},
    summary="Set the caller's out-of-office (replaces one not yet ended)",
)
def put_out_of_office(request: HttpRequest, payload: OutOfOfficeIn) -> Any:
    user = caller(request)
    if not roles.is_practice_user(user):
        # Refused before the delegate is looked up: whether a UUID names a practitioner is
        # nothing a caller outside the practice side learns here.
        raise MessagingError("not_allowed")
    delegate = practitioner_by_uuid(payload.delegate, "bad_delegate")
    absence = practice_settings.set_out_of_office(
        user,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        reply_text=payload.reply_text,
        delegate=delegate,
        request=request,
    )
    return absence_out(absence)


@router.delete(
    "/me/out-of-office",
    response={204: None, **REFUSED},
    summary="End the caller's out-of-office now",
)
def delete_out_of_office(request: HttpRequest) -> Any:
    practice_settings.end_out_of_office(caller(request), request=request)
    return HttpResponse(status=204)


# -- outreach ------------------------------------------------------------------------------------


@router.post(
    "/outreach",
    response={201: OutreachPreviewOut, **REFUSED},
    summary="Preview a bulk outreach (nothing is sent until it is confirmed)",
)
def preview_outreach(request: HttpRequest, payload: OutreachIn) -> Any:
    viewer = viewer_for(caller(request))
    organization = member_organization(viewer, payload.organization)
    on_behalf_of = practitioner_by_uuid(payload.on_behalf_of, "on_behalf_not_allowed")
    row = outreach_actions.preview(
        caller(request),
        organization=organization,
        patients=payload.patients,
        category=payload.category,
        subject=payload.subject,
        body=payload.body,
        on_behalf_of=on_behalf_of,
        request=request,
    )
    summary: outreach_actions.OutreachSummary = row.summary  # type: ignore[attr-defined]
    return Status(
        201,
        {
            "uuid": row.uuid,
            "state": row.state,
            "reachable": len(summary.reachable),
            "patients": summary.reachable,
            "skipped": [{"patient": key, "reason": reason} for key, reason in summary.skipped],
            "counts": summary.counts,
            "sample": {"subject": summary.sample_subject, "body": summary.sample_body}
            if summary.reachable
            else None,
        },
    )


@router.post(
    "/outreach/{outreach_uuid}/confirm",
    response={200: OutreachSentOut, **REFUSED},
    summary="Send a previewed outreach: one new thread per patient",
)
def confirm_outreach(request: HttpRequest, outreach_uuid: UUID) -> Any:
    row = outreach_actions.outreach_for(caller(request), outreach_uuid)
    messages = outreach_actions.confirm(caller(request), row, request=request)
    return {
        "uuid": row.uuid,
        "state": row.state,
        "messages": len(messages),
        "threads": [m.thread.uuid for m in messages],
    }


@router.post(
    "/outreach/{outreach_uuid}/cancel",
    response={200: OutreachStateOut, **REFUSED},
    summary="Cancel a previewed outreach",
)
def cancel_outreach(request: HttpRequest, outreach_uuid: UUID) -> Any:
    row = outreach_actions.outreach_for(caller(request), outreach_uuid)
    outreach_actions.cancel(caller(request), row, request=request)
    return {"uuid": row.uuid, "state": row.state}

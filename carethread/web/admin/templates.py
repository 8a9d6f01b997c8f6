"""``/practice/<org>/templates``: a practice administrator's quick-reply templates — list,
create, edit (with a preview filled in with sample values), retire — and the placeholders a
template may hold (``messaging.templates.PLACEHOLDERS``). Only administrators of that practice
reach them; anyone else gets the 404 of a missing page."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django import forms
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from carethread.accounts.access import one_of
from carethread.core.models import Organization
from carethread.messaging import practice_settings, templates
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Template
from carethread.web.admin.practice_forms import TemplateForm
from carethread.web.admin.setting_pages import administered, page, saved
from carethread.web.decorators import AuthedRequest, signed_in_never_cached

GET_POST = ["GET", "POST"]
# The fields of a template the template form edits.
FIELDS = ("name", "category", "subject", "body")
# What each placeholder stands for, as the page explains it.
PLACEHOLDER_MEANINGS = {
    "patient_first_name": "the patient's first name",
    "patient_name": "the patient's full name",
    "clinician_name": "the clinician's name (the practice's name when none is known)",
    "practice_name": "the practice's name",
    "expected_response": "when to expect an answer (the pool's or the practice's target)",
    "portal_url": "the address of the patient portal",
}
SAMPLE_PATIENT = {"patient_first_name": "Alex", "patient_name": "Alex Sample"}


def _placeholders() -> list[tuple[str, str]]:
    return [
        ("{" + name + "}", PLACEHOLDER_MEANINGS.get(name, "")) for name in templates.PLACEHOLDERS
    ]


def _preview(org: Organization, subject: str, body: str) -> templates.Rendered | None:
    """The template filled in with sample values (``None`` if it cannot be)."""
    values = {
        **SAMPLE_PATIENT,
        "clinician_name": "Dr. Sam Example",
        "practice_name": org.name,
        "expected_response": templates.expected_response(org.expected_response_hours),
        "portal_url": templates.portal_url(),
    }
    try:
        return templates.render_text(subject, body, values)
    except MessagingError:
        return None


def _fields(data: dict[str, Any]) -> dict[str, str]:
    """A template's fields from the template form's values."""
    return {field: data[field] for field in FIELDS}


@require_http_methods(GET_POST)
@signed_in_never_cached
def template_list(request: AuthedRequest, org_uuid: UUID) -> HttpResponse:
    """The practice's templates (active first) and a form to create one."""
    org = administered(request, org_uuid)
    form = TemplateForm(request.POST if request.method == "POST" else None)
    write = lambda data: practice_settings.create_template(  # noqa: E731
        request.user, org, **_fields(data), request=request
    )
    if saved(request, form, write, "The template was created."):
        return redirect("practice_templates", org.uuid)
    rows = Template.objects.filter(organization=org).order_by("-active", "name", "pk")
    return page(
        request,
        "admin/templates/list.html",
        org,
        form=form,
        templates=rows,
        placeholders=_placeholders(),
    )


def _template(request: AuthedRequest, org_uuid: UUID, template_uuid: UUID) -> Template:
    """One template of a practice the user administers (``Http404`` for any other)."""
    org = administered(request, org_uuid)
    return one_of(
        Template.objects.filter(organization=org).select_related("organization"), template_uuid
    )


def _edit_page(request: AuthedRequest, row: Template, **bound: forms.Form) -> HttpResponse:
    form = bound.get("form") or TemplateForm(initial={f: getattr(row, f) for f in FIELDS})
    typed = form.data if form.is_bound else form.initial
    preview = _preview(row.organization, typed.get("subject", ""), typed.get("body", ""))
    context: dict[str, object] = {
        "template": row,
        "form": form,
        "retire_form": None,
        "preview": preview,
        "placeholders": _placeholders(),
    }
    context.update(bound)
    return page(request, "admin/templates/edit.html", row.organization, **context)


@require_http_methods(GET_POST)
@signed_in_never_cached
def template_edit(request: AuthedRequest, org_uuid: UUID, template_uuid: UUID) -> HttpResponse:
    row = _template(request, org_uuid, template_uuid)
    form = TemplateForm(request.POST) if request.method == "POST" else None
    if form is not None:
        write = lambda data: practice_settings.update_template(  # noqa: E731
            request.user,
            row,
            cast(practice_settings.TemplateChange, _fields(data)),
            request=request,
        )
        if saved(request, form, write, "The template was saved."):
            return redirect("practice_template", org_uuid, row.uuid)
        return _edit_page(request, row, form=form)
    return _edit_page(request, row)


@require_POST
@signed_in_never_cached
def template_retire(request: AuthedRequest, org_uuid: UUID, template_uuid: UUID) -> HttpResponse:
    """Retire a template: it is no longer offered when replying (kept for the record)."""
    row = _template(request, org_uuid, template_uuid)
    form = forms.Form(request.POST)
    write = lambda _data: practice_settings.deactivate_template(  # noqa: E731
        request.user, row, request=request
    )
    if saved(request, form, write, "The template was retired."):
        return redirect("practice_templates", org_uuid)
    return _edit_page(request, row, retire_form=form)

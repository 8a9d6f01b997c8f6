"""The flow every practice settings form shares: the administrator's practice by UUID (the one
gate; anyone else meets the house's 404), then on a valid POST the action, a confirmation and
the redirect; on bad input or a refused action the page again with the message beside the field
and the typed values kept (nothing written)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render

from carethread.accounts.access import access_admin_organization
from carethread.core.models import Organization
from carethread.messaging.errors import MessagingError
from carethread.web.decorators import AuthedRequest

# The form field an action's refusal concerns (the others go above the form).
ERROR_FIELDS = {
    "pool_name_taken": "name",
    "template_name_taken": "name",
    "too_long": "name",
    "already_member": "practitioner",
    "not_member": "practitioner",
    "bad_member": "practitioner",
    "bad_template": "body",
    "empty_body": "body",
    "bad_pool": "pool",
    "bad_category": "category",
}


def administered(request: AuthedRequest, org_uuid: UUID) -> Organization:
    """The practice of the page, if the signed-in user administers it (else ``Http404``)."""
    return access_admin_organization(request.user, org_uuid)


def refuse(form: forms.Form, error: MessagingError | ValidationError) -> None:
    """Put an action's refusal beside its field (or above the form)."""
    if isinstance(error, ValidationError):
        form.add_error(None, error)
        return
    field = ERROR_FIELDS.get(error.code)
    form.add_error(field if field in form.fields else None, error.message)


def saved(
    request: AuthedRequest,
    form: forms.Form,
    write: Callable[[dict[str, Any]], object],
    done: str,
) -> bool:
    """On a POST of a valid ``form``: run ``write`` with its values and confirm with ``done``.
    False (the form carries the errors) when the input or the action refused."""
    if request.method != "POST" or not form.is_valid():
        return False
    try:
        write(form.cleaned_data)
    except (MessagingError, ValidationError) as error:
        refuse(form, error)
        return False
    messages.success(request, done)
    return True


def page(
    request: AuthedRequest, template: str, org: Organization, /, **context: object
) -> HttpResponse:
    """A settings page of ``org`` (its errors, if any, say so in the status: 400)."""
    bound = [v for v in context.values() if isinstance(v, forms.Form) and v.is_bound]
    status = 400 if any(f.errors for f in bound) else 200
    return render(request, template, {"org": org, **context}, status=status)

"""``/practice/settings`` and ``/practice/<org>/...``: a practice administrator's choice of
practice, then its profile (name, phone number; the TIN read-only), its locations and its
messaging settings. Only administrators of that practice reach them; anyone else gets the 404
of a missing page."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from carethread.accounts.access import admin_organizations, one_of
from carethread.core import practice
from carethread.messaging import practice_settings
from carethread.web.admin.practice_forms import LocationForm, MessagingSettingsForm, ProfileForm
from carethread.web.admin.setting_pages import administered, page, saved
from carethread.web.decorators import AuthedRequest, signed_in_never_cached

GET_POST = ["GET", "POST"]


@require_GET
@signed_in_never_cached
def choose(request: AuthedRequest) -> HttpResponse:
    """The practices the user administers, each with its settings pages."""
    orgs = admin_organizations(request.user).order_by("name", "pk")
    if not orgs.exists():
        raise Http404
    return render(request, "admin/settings/choose.html", {"orgs": orgs})


@require_http_methods(GET_POST)
@signed_in_never_cached
def profile(request: AuthedRequest, org_uuid: UUID) -> HttpResponse:
    org = administered(request, org_uuid)
    form = ProfileForm(
        request.POST if request.method == "POST" else None,
        initial={"name": org.name, "phone": org.phone},
    )
    write = lambda data: practice.update_profile(  # noqa: E731
        org, {"name": data["name"], "phone": data["phone"]}, actor=request.user, request=request
    )
    if saved(request, form, write, "The practice profile was saved."):
        return redirect("practice_profile", org.uuid)
    return page(request, "admin/settings/profile.html", org, form=form)


@require_http_methods(GET_POST)
@signed_in_never_cached
def locations(request: AuthedRequest, org_uuid: UUID) -> HttpResponse:
    """The practice's locations and a form to add one."""
    org = administered(request, org_uuid)
    form = LocationForm(request.POST if request.method == "POST" else None)
    write = lambda data: practice.save_location(  # noqa: E731
        org, None, data, actor=request.user, request=request
    )
    if saved(request, form, write, "The location was added."):
        return redirect("practice_locations", org.uuid)
    rows = org.locations.order_by("name", "pk")
    return page(request, "admin/settings/locations.html", org, form=form, locations=rows)


@require_http_methods(GET_POST)
@signed_in_never_cached
def location(request: AuthedRequest, org_uuid: UUID, location_uuid: UUID) -> HttpResponse:
    org = administered(request, org_uuid)
    row = one_of(org.locations.all(), location_uuid)
    write = lambda data: practice.save_location(  # noqa: E731
        org, row, data, actor=request.user, request=request
    )
    initial = {f: getattr(row, f) for f in ("name", "pos_code", "state", "county")}
    form = LocationForm(request.POST if request.method == "POST" else None, initial=initial)
    if saved(request, form, write, "The location was saved."):
        return redirect("practice_locations", org.uuid)
    return page(request, "admin/settings/location.html", org, form=form, location=row)


@require_http_methods(GET_POST)
@signed_in_never_cached
def messaging(request: AuthedRequest, org_uuid: UUID) -> HttpResponse:
    """The messaging settings (the switch ``mod2-2015`` reads, the response target, the reply
    window, the automatic acknowledgement, naming the sender in notifications)."""
    org = administered(request, org_uuid)
    names = list(MessagingSettingsForm.base_fields)
    form = MessagingSettingsForm(
        request.POST if request.method == "POST" else None,
        initial={name: getattr(org, name) for name in names},
    )
    write = lambda data: practice_settings.update_practice_settings(  # noqa: E731
        request.user,
        org,
        practice_settings.SettingsChange(**{name: data[name] for name in names}),  # type: ignore[typeddict-item]
        request=request,
    )
    if saved(request, form, write, "The messaging settings were saved."):
        return redirect("practice_messaging_settings", org.uuid)
    return page(request, "admin/settings/messaging.html", org, form=form)

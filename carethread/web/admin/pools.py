"""``/practice/<org>/pools`` and ``/practice/<org>/routing``: a practice administrator's
care-team pools (create, rename, response target, members, deactivate) and the routing rules
that send new patient conversations of a category to a pool. Only administrators of that
practice reach them; anyone else gets the 404 of a missing page.

A pool in use (a routing rule sends to it, or a conversation not closed sits in it or was
addressed to it) is not deactivated: the page says what still uses it (``messaging.pools``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django import forms
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from carethread.accounts.access import one_of
from carethread.core.models import CareTeamPool, Organization
from carethread.messaging import pools as pool_actions
from carethread.messaging import practice_settings
from carethread.messaging.models import Category, RoutingRule
from carethread.web.admin.practice_forms import (
    PoolMemberForm,
    PoolNameForm,
    PoolTargetForm,
    RoutingForm,
    RoutingRemoveForm,
)
from carethread.web.admin.setting_pages import administered, page, saved
from carethread.web.decorators import AuthedRequest, signed_in_never_cached

GET_POST = ["GET", "POST"]


def _data(request: AuthedRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _pool(request: AuthedRequest, org_uuid: UUID, pool_uuid: UUID) -> CareTeamPool:
    """One pool of a practice the user administers (``Http404`` for any other)."""
    org = administered(request, org_uuid)
    return one_of(org.pools.select_related("organization"), pool_uuid)


@require_http_methods(GET_POST)
@signed_in_never_cached
def pools(request: AuthedRequest, org_uuid: UUID) -> HttpResponse:
    """The practice's pools and a form to create one (then its own page, to add members)."""
    org = administered(request, org_uuid)
    form = PoolNameForm(_data(request))
    created: list[CareTeamPool] = []
    write = lambda data: created.append(  # noqa: E731
        pool_actions.create_pool(request.user, org, name=data["name"], request=request)
    )
    if saved(request, form, write, "The pool was created. Add its members below."):
        return redirect("practice_pool", org.uuid, created[0].uuid)
    rows = org.pools.prefetch_related("members").order_by("-active", "name", "pk")
    routed = {rule.pool_id: rule for rule in RoutingRule.objects.filter(organization=org)}
    return page(request, "admin/pools/list.html", org, form=form, pools=rows, routed=routed)


def _pool_page(request: AuthedRequest, pool: CareTeamPool, **bound: forms.Form) -> HttpResponse:
    """The pool's page with its forms (``bound``: the one just posted, with its errors)."""
    org: Organization = pool.organization
    candidates = pool_actions.member_candidates(pool)
    context: dict[str, object] = {
        "pool": pool,
        "members": pool.members.order_by("family_name", "given_name", "pk"),
        "use": pool_actions.pool_use(pool),
        "name_form": PoolNameForm(initial={"name": pool.name}),
        "target_form": PoolTargetForm(initial={"hours": pool.response_target_hours}),
        "member_form": PoolMemberForm(choices=candidates),
        "deactivate_form": None,
        "practice_hours": org.expected_response_hours,
    }
    context.update(bound)
    return page(request, "admin/pools/detail.html", org, **context)


@require_http_methods(GET_POST)
@signed_in_never_cached
def pool(request: AuthedRequest, org_uuid: UUID, pool_uuid: UUID) -> HttpResponse:
    """A pool's page; its POST renames the pool."""
    row = _pool(request, org_uuid, pool_uuid)
    form = PoolNameForm(_data(request), initial={"name": row.name})
    write = lambda data: pool_actions.rename_pool(  # noqa: E731
        request.user, row, data["name"], request=request
    )
    if saved(request, form, write, "The pool was renamed."):
        return redirect("practice_pool", org_uuid, row.uuid)
    return _pool_page(request, row, name_form=form)


@dataclass(frozen=True)
class PoolChange:
    """One form of the pool's page posted to its own address: its place on the page (``slot``),
    the form for the posted data, the action with the form's values, the confirmation, and
    whether the pools' list follows (else the pool's page)."""

    slot: str
    form: Callable[[CareTeamPool, Any], forms.Form]
    write: Callable[[AuthedRequest, CareTeamPool, dict[str, Any]], object]
    done: str
    to_list: bool = False


TARGET = PoolChange(
    "target_form",
    lambda _pool, data: PoolTargetForm(data),
    lambda r, pool, data: practice_settings.set_pool_response_target(
        r.user, pool, data["hours"], request=r
    ),
    "The pool's response target was saved.",
)
# Any practice user of the practice may be posted; a member already there is refused in words.
MEMBER_ADD = PoolChange(
    "member_form",
    lambda pool, data: PoolMemberForm(data, choices=pool_actions.practice_users(pool)),
    lambda r, pool, data: pool_actions.set_pool_member(
        r.user, pool, data["practitioner"], True, request=r
    ),
    "The member was added.",
)
MEMBER_REMOVE = PoolChange(
    "remove_form",
    lambda pool, data: PoolMemberForm(data, choices=list(pool.members.all())),
    lambda r, pool, data: pool_actions.set_pool_member(
        r.user, pool, data["practitioner"], False, request=r
    ),
    "The member was removed.",
)
DEACTIVATE = PoolChange(
    "deactivate_form",
    lambda _pool, data: forms.Form(data),
    lambda r, pool, _data: pool_actions.deactivate_pool(r.user, pool, request=r),
    "The pool was deactivated.",
    to_list=True,
)


CHANGES = {
    "target": TARGET,
    "member_add": MEMBER_ADD,
    "member_remove": MEMBER_REMOVE,
    "deactivate": DEACTIVATE,
}


@require_POST
@signed_in_never_cached
def pool_change(
    request: AuthedRequest, org_uuid: UUID, pool_uuid: UUID, change: str
) -> HttpResponse:
    """One of the pool page's forms (``CHANGES``; the URL names which). A pool in use is not
    deactivated: the page says what still uses it."""
    step = CHANGES[change]
    row = _pool(request, org_uuid, pool_uuid)
    form = step.form(row, request.POST)
    if saved(request, form, lambda data: step.write(request, row, data), step.done):
        if step.to_list:
            return redirect("practice_pools", org_uuid)
        return redirect("practice_pool", org_uuid, row.uuid)
    return _pool_page(request, row, **{step.slot: form})


@require_http_methods(GET_POST)
@signed_in_never_cached
def routing(request: AuthedRequest, org_uuid: UUID) -> HttpResponse:
    """The routing rule of each category, and a form to set one."""
    org = administered(request, org_uuid)
    active = org.pools.filter(active=True).order_by("name", "pk")
    form = RoutingForm(_data(request), pools=active)
    write = lambda data: practice_settings.set_routing_rule(  # noqa: E731
        request.user, org, data["category"], data["pool"], request=request
    )
    if saved(request, form, write, "The routing rule was saved."):
        return redirect("practice_routing", org.uuid)
    return _routing_page(request, org, form=form)


def _routing_page(request: AuthedRequest, org: Organization, **bound: forms.Form) -> HttpResponse:
    rules = {
        r.category: r for r in RoutingRule.objects.filter(organization=org).select_related("pool")
    }
    rows = [(value, label, rules.get(value)) for value, label in Category.choices]
    context: dict[str, object] = {"rows": rows, "remove_form": None}
    context.update(bound)
    return page(request, "admin/pools/routing.html", org, **context)


@require_POST
@signed_in_never_cached
def routing_remove(request: AuthedRequest, org_uuid: UUID) -> HttpResponse:
    org = administered(request, org_uuid)
    form = RoutingRemoveForm(request.POST)
    write = lambda data: practice_settings.delete_routing_rule(  # noqa: E731
        request.user, org, data["category"], request=request
    )
    if saved(request, form, write, "The routing rule was removed."):
        return redirect("practice_routing", org.uuid)
    active = org.pools.filter(active=True).order_by("name", "pk")
    return _routing_page(request, org, form=RoutingForm(pools=active), remove_form=form)

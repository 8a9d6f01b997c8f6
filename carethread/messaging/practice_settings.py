"""Messaging settings of a practice, managed by its administrators, and each practice user's
out-of-office.

Administrators (an active admin membership: the accounts gate ``access_admin_organization``, whose
404 is ``not_allowed`` here) change the practice's messaging settings (a ``SettingsChange``),
routing rules, templates (a ``TemplateChange``) and pools' response targets. Every
change is audited in its transaction; a setting's change is one ``setting.changed`` entry per
field, with the organisation as object and the old and new values (settings are not PHI). The
``messaging_enabled`` entries are what the ``mod2-2015`` measure reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypedDict

from django.db import transaction
from django.db.models import Model
from django.http import Http404, HttpRequest
from django.utils import timezone

from carethread.accounts import roles
from carethread.accounts.access import access_admin_organization
from carethread.audit import actions as audit
from carethread.audit import codes
from carethread.core.models import CareTeamPool, Membership, Organization, Practitioner
from carethread.messaging import templates
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Category, OutOfOffice, RoutingRule, Template

if TYPE_CHECKING:
    from carethread.accounts.models import User

# (minimum, maximum) of the numeric settings.
LIMITS: dict[str, tuple[int, int]] = {
    "expected_response_hours": (1, 24 * 30),
    "reply_window_days": (1, 365),
    "relationship_lookback_days": (1, 365 * 10),
    "response_target_hours": (1, 24 * 30),
}
MAX_TEMPLATE_NAME = 100
MAX_TEMPLATE_SUBJECT = 200
MAX_TEMPLATE_BODY = 20_000
MAX_REPLY_TEXT = 500


def _check_admin(user: User, organization: Organization) -> None:
    """Refuse (``not_allowed``) a caller who does not administer ``organization``: the accounts
    gate's question, answered with the error of the messaging actions."""
    try:
        access_admin_organization(user, organization.uuid)
    except Http404:
        raise MessagingError("not_allowed") from None


def _number(name: str, value: object) -> int:
    low, high = LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MessagingError("bad_setting")
    return value


def _record(
    code: str,
    user: User,
    request: HttpRequest | None,
    obj: Model | None,
    details: Mapping[str, object] | None = None,
) -> None:
    """Audit a change to a practice's messaging settings: who made it, on what, its codes."""
    audit.record(code, actor=user, request=request, obj=obj, details=details)


def _setting_changed(
    user: User,
    obj: Organization | CareTeamPool,
    field: str,
    change: tuple[int | bool | None, int | bool | None],
    request: HttpRequest | None,
) -> None:
    old, new = change
    _record(codes.SETTING_CHANGED, user, request, obj, {"field": field, "old": old, "new": new})


# -- the practice's settings ---------------------------------------------------------------------


class SettingsChange(TypedDict, total=False):
    """The practice settings to change, by name; a setting left out stays as it is."""

    messaging_enabled: bool
    auto_acknowledge: bool
    notify_sender_name: bool
    expected_response_hours: int
    reply_window_days: int
    relationship_lookback_days: int


def _checked(change: SettingsChange) -> dict[str, bool | int]:
    """The settings of ``change`` in the order of ``SettingsChange`` (switches first, then the
    numbers, checked against ``LIMITS``): the order their audit entries are written in.
    ``bad_setting`` for a value of the wrong kind or out of its range."""
    wanted: dict[str, bool | int] = {}
    for name in SettingsChange.__annotations__:
        value = change.get(name)
        if value is None:
            continue
        if name in LIMITS:
            wanted[name] = _number(name, value)
        elif isinstance(value, bool):
            wanted[name] = value
        else:
            raise MessagingError("bad_setting")
    return wanted


def update_practice_settings(
    user: User,
    organization: Organization,
    change: SettingsChange,
    *,
    request: HttpRequest | None = None,
) -> Organization:
    """Apply ``change`` to the practice's settings. Returns the organisation."""
    _check_admin(user, organization)
    wanted = _checked(change)
    with transaction.atomic():
        current = Organization.objects.select_for_update().get(pk=organization.pk)
        changed = {
            name: (getattr(current, name), value)
            for name, value in wanted.items()
            if getattr(current, name) != value
        }
        if changed:
            for name, (_old, new) in changed.items():
                setattr(current, name, new)
            current.save(update_fields=list(changed))
            for name, old_and_new in changed.items():
                _setting_changed(user, current, name, old_and_new, request)
    organization.refresh_from_db()
    return organization


def set_pool_response_target(
    user: User, pool: CareTeamPool, hours: int | None, *, request: HttpRequest | None = None
) -> CareTeamPool:
    """The pool's response-time target in hours (``None``: the practice's)."""
    _check_admin(user, pool.organization)
    if hours is not None:
        hours = _number("response_target_hours", hours)
    with transaction.atomic():
        current = CareTeamPool.objects.select_for_update().get(pk=pool.pk)
        old = current.response_target_hours
        if old != hours:
            current.response_target_hours = hours
            current.save(update_fields=["response_target_hours"])
            _setting_changed(user, current, "response_target_hours", (old, hours), request)
    pool.refresh_from_db()
    return pool


# -- routing rules -------------------------------------------------------------------------------


def set_routing_rule(
    user: User,
    organization: Organization,
    category: str,
    pool: CareTeamPool,
    *,
    request: HttpRequest | None = None,
) -> RoutingRule:
    """New patient threads of ``category`` go to ``pool`` (an active pool of the practice)."""
    _check_admin(user, organization)
    if category not in Category.values:
        raise MessagingError("bad_category")
    if pool.organization_id != organization.pk or not pool.active:
        raise MessagingError("bad_pool")
    with transaction.atomic():
        rule, _created = RoutingRule.objects.update_or_create(
            organization=organization, category=category, defaults={"pool": pool}
        )
        _record(
            codes.ROUTING_SET,
            user,
            request,
            organization,
            {"category": category, "pool": str(pool.uuid)},
        )
    return rule


def delete_routing_rule(
    user: User, organization: Organization, category: str, *, request: HttpRequest | None = None
) -> bool:
    """Remove the rule of ``category``; False when there was none."""
    _check_admin(user, organization)
    if category not in Category.values:
        raise MessagingError("bad_category")
    with transaction.atomic():
        deleted, _ = RoutingRule.objects.filter(
            organization=organization, category=category
        ).delete()
        if not deleted:
            return False
        _record(codes.ROUTING_DELETE, user, request, organization, {"category": category})
    return True


# -- templates -----------------------------------------------------------------------------------


def _template_fields(
    name: str | None, subject: str | None, body: str | None, category: str | None
) -> dict[str, str]:
    """Cleaned template fields; ``None`` leaves a field out."""
    fields: dict[str, str] = {}
    if name is not None:
        name = str(name).strip()
        if not name:
            raise MessagingError("bad_request")
        if len(name) > MAX_TEMPLATE_NAME:
            raise MessagingError("too_long")
        fields["name"] = name
    if subject is not None:
        subject = str(subject).strip()
        if len(subject) > MAX_TEMPLATE_SUBJECT:
            raise MessagingError("too_long")
        templates.check(subject)
        fields["subject"] = subject
    if body is not None:
        body = str(body).replace("\r\n", "\n").strip()
        if not body:
            raise MessagingError("empty_body")
        if len(body) > MAX_TEMPLATE_BODY:
            raise MessagingError("too_long")
        templates.check(body)
        fields["body"] = body
    if category is not None:
        if category and category not in Category.values:
            raise MessagingError("bad_category")
        fields["category"] = category
    return fields


def _name_taken(organization_id: int, name: str, exclude_pk: int | None = None) -> bool:
    rows = Template.objects.filter(organization_id=organization_id, name=name)
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    return rows.exists()


def create_template(
    user: User,
    organization: Organization,
    *,
    name: str,
    body: str,
    subject: str = "",
    category: str = "",
    request: HttpRequest | None = None,
) -> Template:
    _check_admin(user, organization)
    if name is None or body is None:
        raise MessagingError("bad_request")
    fields = _template_fields(name, subject or "", body, category or "")
    with transaction.atomic():
        if _name_taken(organization.pk, fields["name"]):
            raise MessagingError("template_name_taken")
        template = Template.objects.create(organization=organization, **fields)
        _record(
            codes.TEMPLATE_CREATE, user, request, template, {"organization": str(organization.uuid)}
        )
    return template


class TemplateChange(TypedDict, total=False):
    """The fields of a template to change; one left out (or ``None``) stays as it is."""

    name: str | None
    subject: str | None
    body: str | None
    category: str | None
    active: bool | None


def update_template(
    user: User, template: Template, change: TemplateChange, *, request: HttpRequest | None = None
) -> Template:
    """Apply ``change`` to ``template``."""
    _check_admin(user, template.organization)
    cleaned = _template_fields(
        change.get("name"), change.get("subject"), change.get("body"), change.get("category")
    )
    fields: dict[str, str | bool] = {**cleaned}
    active = change.get("active")
    if active is not None:
        fields["active"] = bool(active)
    with transaction.atomic():
        current = Template.objects.select_for_update().get(pk=template.pk)
        changed = [f for f, value in fields.items() if getattr(current, f) != value]
        if not changed:
            return current
        if "name" in changed and _name_taken(current.organization_id, cleaned["name"], current.pk):
            raise MessagingError("template_name_taken")
        for f in changed:
            setattr(current, f, fields[f])
        current.save(update_fields=changed)
        _record(codes.TEMPLATE_UPDATE, user, request, current, {"fields": sorted(changed)})
    return current


def deactivate_template(
    user: User, template: Template, *, request: HttpRequest | None = None
) -> Template:
    _check_admin(user, template.organization)
    with transaction.atomic():
        changed = Template.objects.filter(pk=template.pk, active=True).update(active=False)
        if changed:
            _record(codes.TEMPLATE_DEACTIVATE, user, request, template)
    template.refresh_from_db()
    return template


# -- out of office -------------------------------------------------------------------------------


def _own_practitioner(user: User) -> Practitioner:
    practitioner = roles.practitioner_of(user)
    if (
        practitioner is None
        or not practitioner.active
        or not practitioner.memberships.filter(active=True).exists()
    ):
        raise MessagingError("not_allowed")
    return practitioner


def _check_delegate(me: Practitioner, delegate: Practitioner) -> None:
    if delegate.pk == me.pk or not delegate.active or delegate.user_id is None:
        raise MessagingError("bad_delegate")
    mine = Membership.objects.filter(practitioner=me, active=True).values("organization_id")
    shared = Membership.objects.filter(
        practitioner=delegate, active=True, organization_id__in=mine
    ).exists()
    if not shared:
        raise MessagingError("bad_delegate")


def set_out_of_office(
    user: User,
    *,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reply_text: str = "",
    delegate: Practitioner | None = None,
    request: HttpRequest | None = None,
) -> OutOfOffice:
    """The caller's absence from ``starts_at`` to ``ends_at``. It replaces any absence of theirs
    that has not ended yet. ``delegate`` (a practice user of a shared practice) receives the
    patient messages meanwhile."""
    me = _own_practitioner(user)
    now = timezone.now()
    if (
        not isinstance(starts_at, dt.datetime)
        or not isinstance(ends_at, dt.datetime)
        or timezone.is_naive(starts_at)
        or timezone.is_naive(ends_at)
        or ends_at <= starts_at
        or ends_at <= now
    ):
        raise MessagingError("bad_period")
    text = (reply_text or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_REPLY_TEXT:
        raise MessagingError("too_long")
    if delegate is not None:
        _check_delegate(me, delegate)
    with transaction.atomic():
        replaced, _ = OutOfOffice.objects.filter(practitioner=me, ends_at__gt=now).delete()
        absence = OutOfOffice.objects.create(
            practitioner=me,
            starts_at=starts_at,
            ends_at=ends_at,
            reply_text=text,
            delegate=delegate,
        )
        _record(
            codes.OUT_OF_OFFICE_SET,
            user,
            request,
            absence,
            {
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "delegate": str(delegate.uuid) if delegate is not None else None,
                "replaced": replaced,
            },
        )
    return absence


def current_out_of_office(user: User) -> OutOfOffice | None:
    """The caller's absence now in force or next to come, if any."""
    practitioner = roles.practitioner_of(user)
    if practitioner is None:
        return None
    return (
        OutOfOffice.objects.filter(practitioner=practitioner, ends_at__gt=timezone.now())
        .select_related("delegate")
        .order_by("starts_at")
        .first()
    )


def end_out_of_office(user: User, *, request: HttpRequest | None = None) -> int:
    """End the caller's current absence now and drop future ones. Returns how many changed."""
    me = _own_practitioner(user)
    now = timezone.now()
    with transaction.atomic():
        ended = OutOfOffice.objects.filter(
            practitioner=me, starts_at__lt=now, ends_at__gt=now
        ).update(ends_at=now)
        dropped, _ = OutOfOffice.objects.filter(practitioner=me, starts_at__gte=now).delete()
        if ended or dropped:
            _record(
                codes.OUT_OF_OFFICE_END, user, request, None, {"ended": ended, "dropped": dropped}
            )
    return ended + dropped

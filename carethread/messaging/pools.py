"""A practice's care-team pools, managed by its administrators: create, rename, deactivate, and
their members.

Each action asks the administrators' gate (``not_allowed`` for anyone else) and writes its audit
entry in its transaction: ``pool.create``; ``pool.update`` with the field and its old and new
values; ``pool.deactivate``; ``pool.member_add`` / ``pool.member_remove`` naming the
practitioner by UUID. A deactivated pool is kept (old threads still name it) and changes no more.

A pool in use is not deactivated (``pool_in_use``): while a routing rule sends new threads to it,
or a conversation that is not closed sits in it or was addressed to it. Its threads are not
moved; the administrator points the routing rules at another pool and the pool's members close
or reassign its conversations first, so nothing is moved without someone deciding where to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest

from carethread.audit import actions as audit
from carethread.audit import codes
from carethread.core import actions as core_actions
from carethread.core.models import CareTeamPool, Organization, Practitioner
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import RoutingRule, Thread
from carethread.messaging.practice_settings import _check_admin

if TYPE_CHECKING:
    from carethread.accounts.models import User

MAX_POOL_NAME = 100


@dataclass(frozen=True)
class PoolUse:
    """What keeps a pool from being deactivated: the categories routed to it and the number of
    conversations not closed that sit in it or were addressed to it."""

    categories: list[str]
    open_threads: int

    @property
    def in_use(self) -> bool:
        return bool(self.categories) or self.open_threads > 0


def pool_use(pool: CareTeamPool) -> PoolUse:
    categories = RoutingRule.objects.filter(pool=pool).order_by("category")
    threads = (
        Thread.objects.filter(Q(pool=pool) | Q(messages__recipients__pool=pool))
        .exclude(status=Thread.Status.CLOSED)
        .values("pk")
        .distinct()
    )
    return PoolUse(list(categories.values_list("category", flat=True)), threads.count())


def _pool_name(organization: Organization, name: str, exclude: CareTeamPool | None = None) -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise MessagingError("bad_request", "Enter the pool's name.")
    if len(cleaned) > MAX_POOL_NAME:
        raise MessagingError("too_long")
    taken = CareTeamPool.objects.filter(organization=organization, name__iexact=cleaned)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise MessagingError("pool_name_taken")
    return cleaned


def _record(
    code: str,
    user: User,
    pool: CareTeamPool,
    details: Mapping[str, object],
    request: HttpRequest | None,
) -> None:
    audit.record(code, actor=user, request=request, obj=pool, details=details)


def _set_field(
    user: User,
    current: CareTeamPool,
    change: tuple[str, object],
    code: str,
    request: HttpRequest | None,
) -> None:
    """Save one field's new value on the (locked) pool and audit its old and new value."""
    field, new = change
    old = getattr(current, field)
    setattr(current, field, new)
    current.save(update_fields=[field])
    _record(code, user, current, {"field": field, "old": old, "new": new}, request)


def _changeable(user: User, pool: CareTeamPool) -> None:
    _check_admin(user, pool.organization)
    if not pool.active:
        raise MessagingError("bad_pool")


def create_pool(
    user: User, organization: Organization, *, name: str, request: HttpRequest | None = None
) -> CareTeamPool:
    """A new, empty pool of the practice."""
    _check_admin(user, organization)
    with transaction.atomic():
        cleaned = _pool_name(organization, name)
        return core_actions.create_pool(organization, name=cleaned, actor=user, request=request)


def rename_pool(
    user: User, pool: CareTeamPool, name: str, *, request: HttpRequest | None = None
) -> CareTeamPool:
    _changeable(user, pool)
    with transaction.atomic():
        current = CareTeamPool.objects.select_for_update().get(pk=pool.pk)
        cleaned = _pool_name(current.organization, name, exclude=current)
        if cleaned != current.name:
            _set_field(user, current, ("name", cleaned), codes.POOL_UPDATE, request)
    pool.refresh_from_db()
    return pool


def deactivate_pool(
    user: User, pool: CareTeamPool, *, request: HttpRequest | None = None
) -> CareTeamPool:
    """Deactivate a pool no longer in use (see the module's note); ``pool_in_use`` otherwise."""
    _changeable(user, pool)
    with transaction.atomic():
        current = CareTeamPool.objects.select_for_update().get(pk=pool.pk)
        if pool_use(current).in_use:
            raise MessagingError("pool_in_use")
        _set_field(user, current, ("active", False), codes.POOL_DEACTIVATE, request)
    pool.refresh_from_db()
    return pool


def practice_users(pool: CareTeamPool) -> list[Practitioner]:
    """The active practice users (with a login) of the pool's practice."""
    return list(
        Practitioner.objects.filter(
            active=True,
            user__isnull=False,
            memberships__organization_id=pool.organization_id,
            memberships__active=True,
        )
        .order_by("family_name", "given_name", "pk")
        .distinct()
    )


def member_candidates(pool: CareTeamPool) -> list[Practitioner]:
    """The practice users of ``practice_users`` who are not members yet."""
    members = set(pool.members.values_list("pk", flat=True))
    return [p for p in practice_users(pool) if p.pk not in members]


def set_pool_member(
    user: User,
    pool: CareTeamPool,
    practitioner: Practitioner,
    member: bool,
    *,
    request: HttpRequest | None = None,
) -> None:
    """Add (``member``) a practice user of the pool's practice to the pool, or remove one;
    ``already_member`` / ``not_member`` when that is already so, ``bad_member`` for anyone who
    is not a practice user of the practice."""
    _changeable(user, pool)
    with transaction.atomic():
        CareTeamPool.objects.select_for_update().get(pk=pool.pk)
        if pool.members.filter(pk=practitioner.pk).exists() == member:
            raise MessagingError("already_member" if member else "not_member")
        if member and practitioner not in member_candidates(pool):
            raise MessagingError("bad_member")
        if member:
            pool.members.add(practitioner)
        else:
            pool.members.remove(practitioner)
        code = codes.POOL_MEMBER_ADD if member else codes.POOL_MEMBER_REMOVE
        _record(code, user, pool, {"practitioner": str(practitioner.uuid)}, request)

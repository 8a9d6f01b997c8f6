"""Who may see which measure report: the one gate the REST API and the web dashboard share.

Only practice administrators see measure reports, and only for organisations they administer:

* ``administered(user)`` — the organisations (by TIN) the user administers; empty for anyone who
  is not an active practice user;
* ``require_admin(user)`` — the same, or ``Refused(403, NOT_AN_ADMIN)``; checked before any input
  is read, so a non-administrator learns nothing about the input rules;
* ``scoped(request, administered)`` — the request with its TIN settled: a TIN the user does not
  administer is refused (403, ``administered_practice``), and without a TIN the report covers
  the user's practice when they administer exactly one (else ``Refused(400, CHOOSE_A_TIN)``);
* ``check_patient_lists(request, doc, administered)`` — at level ``ep`` a row spans every
  organisation its clinician belongs to or saw patients at in the period, so a patient list there
  needs the user to administer all of them (else ``Refused(403, SPANS_OTHER_PRACTICES)``).

The organisations come from ``accounts.access.admin_organizations``, the one definition of a
practice administrator. ``Refused`` carries the HTTP status the API answers and a message safe to
show. The web pages turn the refusals that would tell an outsider something (403: not an
administrator, not their TIN) into their usual 404.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import Q

from carethread.accounts import roles
from carethread.accounts.access import admin_organizations
from carethread.core.models import Encounter, Organization
from carethread.measures.programs import Level
from carethread.measures.report import Report
from carethread.measures.request import MeasureRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from carethread.accounts.models import User

NOT_AN_ADMIN = "Measure reports are for practice administrators."
CHOOSE_A_TIN = (
    "You administer more than one practice: choose one with tin (the practice's 9-digit TIN)."
)
SPANS_OTHER_PRACTICES = (
    "The patient lists of these clinicians include patients of practices you do not "
    "administer: ask without patients, or ask an administrator of every one of them."
)


class Refused(Exception):
    """A report the caller may not have: ``status`` is the HTTP answer, ``message`` its text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_their_practice(tin: str) -> str:
    return f"You do not administer the practice with TIN {tin}."


def administered(user: User | AnonymousUser) -> dict[str, Organization]:
    """The organisations ``user`` administers, by TIN (empty unless an active practice user)."""
    if not roles.is_practice_user(user):
        return {}
    return {org.tin: org for org in admin_organizations(user).order_by("name", "tin")}


def require_admin(user: User | AnonymousUser) -> dict[str, Organization]:
    orgs = administered(user)
    if not orgs:
        raise Refused(403, NOT_AN_ADMIN)
    return orgs


def scoped(request: MeasureRequest, orgs: dict[str, Organization]) -> MeasureRequest:
    """``request`` limited to a practice the caller administers."""
    if request.tin is None:
        if len(orgs) != 1:
            raise Refused(400, CHOOSE_A_TIN)
        return dataclasses.replace(request, tin=next(iter(orgs)))
    administered_practice(orgs, request.tin)
    return request


def administered_practice(orgs: dict[str, Organization], tin: str) -> Organization:
    """The practice with TIN ``tin`` among ``orgs`` (what the caller administers), else
    ``Refused(403)``."""
    organization = orgs.get(tin)
    if organization is None:
        raise Refused(403, not_their_practice(tin))
    return organization


def check_patient_lists(request: MeasureRequest, doc: Report, orgs: Iterable[Organization]) -> None:
    """At level ep a row's patients come from every practice its clinician belongs to or saw
    patients at in the period: the caller must administer each of them. Other levels keep to
    the scoped TIN, so they need no check."""
    if request.level != Level.EP or not request.patients:
        return
    npis = {row["npi"] for row in doc["results"] if row["npi"]}
    if not npis:
        return
    start, end = request.instants()
    seen_at = Encounter.objects.filter(
        participants__npi__in=npis, start__gte=start, start__lt=end
    ).values("organization_id")
    spanned = set(
        Organization.objects.filter(
            Q(memberships__practitioner__npi__in=npis) | Q(pk__in=seen_at)
        ).values_list("pk", flat=True)
    )
    if not spanned <= {org.pk for org in orgs}:
        raise Refused(403, SPANS_OTHER_PRACTICES)

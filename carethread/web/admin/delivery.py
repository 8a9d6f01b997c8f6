"""``/practice/notifications``: the delivery health of a practice's email notifications, for
its administrators (everyone else: the house's 404 page).

Per practice the user administers: how many notifications are pending, sent, skipped, failed,
and how many were sent again after a hand-over whose outcome was unknown (with the number of
such retries); then the latest failed or retried ones (kind, dates, attempts, codes). Never a
recipient, a patient or any content. A notification belongs to the practice of its subject: a
message's or a thread's organisation, or for an invitation the practice of its patient
(managed or seen there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from carethread.accounts.access import require_practice_admin
from carethread.accounts.models import Invitation
from carethread.core.models import Organization
from carethread.messaging.models import Message, Thread
from carethread.notifications import health
from carethread.notifications.models import Notification
from carethread.web.decorators import AuthedRequest, signed_in_never_cached

# subject_type -> the uuids of that practice's subjects of this type
SUBJECTS: dict[str, Callable[[Organization], QuerySet[Any]]] = {
    "message": lambda org: Message.objects.filter(thread__organization=org).values("uuid"),
    "thread": lambda org: Thread.objects.filter(organization=org).values("uuid"),
    "invitation": lambda org: Invitation.objects.filter(
        Q(patient__managing_organization=org) | Q(patient__encounters__organization=org)
    ).values("uuid"),
}


def notifications_of(org: Organization) -> QuerySet[Notification]:
    """The notifications whose subject belongs to ``org``."""
    belongs = Q(pk__in=[])
    for subject_type, subjects in SUBJECTS.items():
        belongs |= Q(subject_type=subject_type, subject_id__in=subjects(org))
    return Notification.objects.filter(belongs)


@require_GET
@signed_in_never_cached
def delivery_health(request: AuthedRequest) -> HttpResponse:
    orgs = require_practice_admin(request.user).order_by("name", "pk")
    practices = []
    for org in orgs:
        rows = notifications_of(org)
        practices.append(
            {
                "org": org,
                "summary": health.summary(rows),
                "attention": health.needing_attention(rows),
            }
        )
    return render(request, "web/delivery_health.html", {"practices": practices})

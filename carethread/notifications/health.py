"""Delivery health: what a practice's administrators see of its notifications (counts and
codes, never a recipient or content).

``summary(rows)`` counts the rows by state, plus those sent again after a hand-over whose
outcome was unknown (and how many such retries there were); ``needing_attention(rows)`` lists
the latest rows that failed or were retried after an unknown outcome. ``rows`` is any query of
``Notification`` — the caller decides which practice's notifications they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from carethread.notifications.models import Notification

State = Notification.State
LISTED = 50


@dataclass(frozen=True)
class Summary:
    pending: int = 0  # waiting for a (first or later) attempt, or being sent now
    sent: int = 0
    skipped: int = 0  # not wanted any more when it was due (read, opted out, blocked, ...)
    failed: int = 0  # refused by the server, or out of attempts
    retried_after_unknown: int = 0  # notifications sent again after an unknown outcome
    unknown_outcome_retries: int = 0  # how many such retries in all

    @property
    def total(self) -> int:
        return self.pending + self.sent + self.skipped + self.failed


def summary(rows: QuerySet[Notification]) -> Summary:
    counts = rows.aggregate(
        pending=Count("id", filter=Q(state__in=[State.PENDING, State.SENDING])),
        sent=Count("id", filter=Q(state=State.SENT)),
        skipped=Count("id", filter=Q(state=State.SKIPPED)),
        failed=Count("id", filter=Q(state=State.FAILED)),
        retried_after_unknown=Count("id", filter=Q(unknown_outcome_retries__gt=0)),
        unknown_outcome_retries=Sum("unknown_outcome_retries"),
    )
    return Summary(**{key: value or 0 for key, value in counts.items()})


def needing_attention(rows: QuerySet[Notification], limit: int = LISTED) -> list[Notification]:
    """The latest failed rows and rows retried after an unknown outcome, newest first."""
    return list(
        rows.filter(Q(state=State.FAILED) | Q(unknown_outcome_retries__gt=0))
        .only(
            "uuid",
            "kind",
            "state",
            "attempts",
            "unknown_outcome_retries",
            "last_error_code",
            "created_at",
            "sent_at",
        )
        .order_by("-created_at", "-id")[:limit]
    )

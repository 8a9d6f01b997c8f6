"""Delivering notifications: claim, re-check, send once, record the outcome.

Guarantee (see docs/notifications.md): a notification is handed to the SMTP server at most once.
1. ``claim`` moves a due ``pending`` row to ``sending`` with a conditional UPDATE (one winner)
   and a fresh claim token and lease.
2. The "still wanted?" checks run; unwanted rows end ``skipped``.
3. ``handed_at`` is committed, then the SMTP conversation runs, then the row becomes ``sent``.
   Every later write is conditional on the claim token, so a worker whose lease has expired
   cannot overwrite what another did.
4. A ``sending`` row past its lease (the worker died) is swept: without ``handed_at`` nothing
   reached the SMTP server, so it goes back to ``pending``; with ``handed_at`` the outcome is
   unknown, so it ends ``failed`` with ``outcome_unknown`` — never sent a second time.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import uuid

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from carethread.notifications import checks, email
from carethread.notifications.models import Notification

log = logging.getLogger(__name__)
State = Notification.State

LEASE = dt.timedelta(seconds=60)
MAX_ATTEMPTS = 6
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_MAX = dt.timedelta(hours=1)


def setting(name: str, default: object) -> object:
    return getattr(settings, f"CARETHREAD_NOTIFICATION_{name}", default)


def backoff(attempts: int) -> dt.timedelta:
    """Delay before attempt ``attempts + 1``: base, 2x base, 4x base, ... capped."""
    base = setting("BACKOFF_BASE", BACKOFF_BASE)
    assert isinstance(base, dt.timedelta)
    return min(base * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def claim(notification_id: int) -> uuid.UUID | None:
    """Take a due pending row for this worker; ``None`` if it is not due or another has it."""
    now = timezone.now()
    token = uuid.uuid4()
    lease = setting("LEASE", LEASE)
    assert isinstance(lease, dt.timedelta)
    won = Notification.objects.filter(
        id=notification_id, state=State.PENDING, next_attempt_at__lte=now
    ).update(
        state=State.SENDING,
        claim_token=token,
        lease_until=now + lease,
        handed_at=None,
        attempts=F("attempts") + 1,
    )
    return token if won == 1 else None


def _finish(notification_id: int, token: uuid.UUID, **fields: object) -> bool:
    done = Notification.objects.filter(
        id=notification_id, state=State.SENDING, claim_token=token
    ).update(**fields)
    return done == 1


def _classify(exc: Exception) -> tuple[str, bool]:
    """An error code (no PHI) and whether trying again later may help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        transient = all(400 <= code < 500 for code in codes)
        return f"smtp_{codes[0] if codes else 'refused'}", transient
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"smtp_{exc.smtp_code}", 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "smtp_disconnected", True
    if isinstance(exc, ConnectionRefusedError):
        return "connection_refused", True
    if isinstance(exc, TimeoutError):
        return "timeout", True
    if isinstance(exc, OSError):
        return "network_error", True
    return "error", False


def deliver(notification_id: int) -> str | None:
    """Deliver one notification if it is due and unclaimed. Returns the state it ended in
    (``None`` when it was not claimed here)."""
    token = claim(notification_id)
    if token is None:
        return None
    notification = Notification.objects.select_related("recipient").get(id=notification_id)
    reason = checks.skip_reason(notification)
    if reason:
        _finish(notification_id, token, state=State.SKIPPED, last_error_code=reason[:64])
        log.info("notification %s skipped: %s", notification.uuid, reason)
        return State.SKIPPED
    message = email.render(notification)
    handed = Notification.objects.filter(
        id=notification_id, state=State.SENDING, claim_token=token, lease_until__gt=timezone.now()
    ).update(handed_at=timezone.now())
    if handed != 1:
        return None  # the lease ran out and the row was swept; leave it to its new owner
    try:
        get_connection(fail_silently=False).send_messages([message])
    except Exception as exc:  # every failure is recorded on the row as a code
        code, transient = _classify(exc)
        return _failed(notification, token, code, transient)
    _finish(notification_id, token, state=State.SENT, sent_at=timezone.now(), last_error_code="")
    log.info("notification %s sent", notification.uuid)
    return State.SENT


def _failed(notification: Notification, token: uuid.UUID, code: str, transient: bool) -> str:
    max_attempts = setting("MAX_ATTEMPTS", MAX_ATTEMPTS)
    assert isinstance(max_attempts, int)
    if transient and notification.attempts < max_attempts:
        _finish(
            notification.id,
            token,
            state=State.PENDING,
            next_attempt_at=timezone.now() + backoff(notification.attempts),
            handed_at=None,
            last_error_code=code,
        )
        log.warning("notification %s will be retried: %s", notification.uuid, code)
        return State.PENDING
    _finish(notification.id, token, state=State.FAILED, last_error_code=code)
    log.error("notification %s failed: %s", notification.uuid, code)
    return State.FAILED


def sweep_expired() -> tuple[int, int]:
    """Settle ``sending`` rows whose lease has run out. Returns (retried, unknown)."""
    now = timezone.now()
    expired = Q(state=State.SENDING, lease_until__lt=now)
    with transaction.atomic():
        retried = Notification.objects.filter(expired, handed_at__isnull=True).update(
            state=State.PENDING,
            claim_token=None,
            next_attempt_at=now,
            last_error_code="lease_expired",
        )
        unknown = Notification.objects.filter(expired, handed_at__isnull=False).update(
            state=State.FAILED, claim_token=None, last_error_code="outcome_unknown"
        )
    if unknown:
        log.warning("notifications with an unknown outcome (not re-sent): %d", unknown)
    return retried, unknown


def due_ids(limit: int = 100) -> list[int]:
    return list(
        Notification.objects.filter(state=State.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def run_once(limit: int = 100, stop: object = None) -> dict[str, int]:
    """Sweep, then deliver what is due now. Returns counts per outcome."""
    counts: dict[str, int] = {}
    sweep_expired()
    for notification_id in due_ids(limit):
        if stop is not None and getattr(stop, "is_set", lambda: False)():
            break
        outcome = deliver(notification_id) or "taken"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts

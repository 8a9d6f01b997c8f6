"""Delivering notifications: claim, re-check, hand over once, record the outcome.

``deliver(id)`` is the body of the delivery task (``tasks.deliver_notification``).
Guarantee (see docs/notifications.md): a notification is handed to the SMTP server at most once.

1. ``claim`` moves a due ``pending`` row to ``sending`` with a conditional UPDATE (one winner)
   and a fresh claim token and lease.
2. The "still wanted?" checks run; unwanted rows end ``skipped``.
3. The SMTP connection is opened (nothing is transmitted yet), then ``handed_at`` is committed,
   then the message is sent and the row becomes ``sent``. Every later write is conditional on
   the claim token, so a worker whose lease has expired cannot overwrite what another did.
4. Failures: before the hand-over, and definite refusals (4xx/5xx replies) after it, are
   retried with back-off (4xx, network errors) or fail at once (5xx). A lost connection or a
   time-out after the hand-over leaves the outcome unknown: ``failed``/``outcome_unknown``,
   never sent again.
5. A ``sending`` row past its lease (the worker died) is swept: without ``handed_at`` nothing
   reached the SMTP server, so it goes back to ``pending`` with a new task; with ``handed_at``
   the outcome is unknown, so it ends ``failed`` with ``outcome_unknown``.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import uuid
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from carethread.notifications import checks, email, senders, tasks
from carethread.notifications.models import Notification

log = logging.getLogger(__name__)
State = Notification.State

LEASE = dt.timedelta(seconds=60)
MAX_ATTEMPTS = 6
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_MAX = dt.timedelta(hours=1)
OUTCOME_UNKNOWN = "outcome_unknown"
SWEEP_BATCH = 500


def setting(name: str, default: object) -> object:
    return getattr(settings, f"CARETHREAD_NOTIFICATION_{name}", default)


def lease() -> dt.timedelta:
    value = setting("LEASE", LEASE)
    assert isinstance(value, dt.timedelta)
    return value


def backoff(attempts: int) -> dt.timedelta:
    """Delay before attempt ``attempts + 1``: base, 2x base, 4x base, ... capped."""
    base = setting("BACKOFF_BASE", BACKOFF_BASE)
    assert isinstance(base, dt.timedelta)
    return min(base * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def claim(notification_id: int) -> uuid.UUID | None:
    """Take a due pending row for this worker; ``None`` if it is not due or another has it."""
    now = timezone.now()
    token = uuid.uuid4()
    won = Notification.objects.filter(
        id=notification_id, state=State.PENDING, next_attempt_at__lte=now
    ).update(
        state=State.SENDING,
        claim_token=token,
        lease_until=now + lease(),
        handed_at=None,
        attempts=F("attempts") + 1,
    )
    return token if won == 1 else None


def _finish(notification_id: int, token: uuid.UUID, **fields: object) -> bool:
    done = Notification.objects.filter(
        id=notification_id, state=State.SENDING, claim_token=token
    ).update(**fields)
    return done == 1


def _hand_over(notification_id: int, token: uuid.UUID) -> bool:
    """Commit ``handed_at`` if the claim is still ours and its lease is live."""
    handed = Notification.objects.filter(
        id=notification_id, state=State.SENDING, claim_token=token, lease_until__gt=timezone.now()
    ).update(handed_at=timezone.now())
    return handed == 1


def _classify(exc: Exception) -> tuple[str, bool]:
    """An error code (no PHI) and whether trying again later may help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        transient = bool(codes) and all(400 <= code < 500 for code in codes)
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


def _is_refusal(exc: Exception) -> bool:
    """A reply from the server that says the message was not accepted."""
    return isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPResponseException)


def _open(backend: Any) -> None:
    """Connect, greet (EHLO), start TLS and log in: nothing of the message is sent yet."""
    backend.open()
    smtp = getattr(backend, "connection", None)
    if smtp is not None and hasattr(smtp, "ehlo_or_helo_if_needed"):
        smtp.ehlo_or_helo_if_needed()


def _close(backend: Any) -> None:
    try:
        backend.close()
    except Exception as exc:  # the outcome is already recorded; a failed QUIT changes nothing
        log.info("closing the SMTP connection failed: %s", type(exc).__name__)


def deliver(notification_id: int) -> str | None:
    """Deliver one notification if it is due and unclaimed. Returns the state it ended in
    (``None`` when it was not claimed here, or its lease ran out before the hand-over)."""
    token = claim(notification_id)
    if token is None:
        return None
    notification = Notification.objects.select_related("recipient").get(id=notification_id)
    reason = checks.skip_reason(notification)
    if reason:
        _finish(notification_id, token, state=State.SKIPPED, last_error_code=reason[:64])
        log.info("notification %s skipped: %s", notification.uuid, reason)
        return State.SKIPPED
    message = email.render(notification, sender_name=senders.sender_name(notification))
    backend = get_connection(fail_silently=False)
    try:
        try:
            _open(backend)
        except Exception as exc:
            code, transient = _classify(exc)
            return _failed(notification, token, code, transient)
        if not _hand_over(notification_id, token):
            return None  # the lease ran out and the row was swept; leave it to its new owner
        try:
            backend.send_messages([message])
        except Exception as exc:
            if _is_refusal(exc):
                code, transient = _classify(exc)
                return _failed(notification, token, code, transient)
            # The message may have reached the server: never send it again.
            code = OUTCOME_UNKNOWN if isinstance(exc, OSError) else "error"
            _finish(notification_id, token, state=State.FAILED, last_error_code=code)
            log.error(
                "notification %s failed: %s (%s)", notification.uuid, code, type(exc).__name__
            )
            return State.FAILED
        _finish(
            notification_id, token, state=State.SENT, sent_at=timezone.now(), last_error_code=""
        )
        log.info("notification %s sent", notification.uuid)
        return State.SENT
    finally:
        _close(backend)


def _failed(notification: Notification, token: uuid.UUID, code: str, transient: bool) -> str:
    """The message was not accepted: retry later (with a new task) or give up."""
    max_attempts = setting("MAX_ATTEMPTS", MAX_ATTEMPTS)
    assert isinstance(max_attempts, int)
    if transient and notification.attempts < max_attempts:
        due = timezone.now() + backoff(notification.attempts)
        with transaction.atomic():
            rearmed = _finish(
                notification.id,
                token,
                state=State.PENDING,
                next_attempt_at=due,
                handed_at=None,
                last_error_code=code,
            )
            if rearmed:
                tasks.schedule([notification.id], run_after=due)
        log.warning("notification %s will be retried: %s", notification.uuid, code)
        return State.PENDING
    _finish(notification.id, token, state=State.FAILED, last_error_code=code)
    log.error("notification %s failed: %s", notification.uuid, code)
    return State.FAILED


def sweep_expired(limit: int = SWEEP_BATCH) -> tuple[int, int]:
    """Settle ``sending`` rows whose lease has run out (their worker died or stalled).

    Not handed over: back to ``pending``, due now, with a new delivery task (or ``failed`` with
    ``lease_expired`` once it has used all its attempts). Handed over: ``failed`` with
    ``outcome_unknown``, never re-sent. Returns (requeued, unknown).
    """
    now = timezone.now()
    expired = Q(state=State.SENDING, lease_until__lt=now)
    if not Notification.objects.filter(expired).exists():
        return 0, 0
    max_attempts = setting("MAX_ATTEMPTS", MAX_ATTEMPTS)
    with transaction.atomic():
        Notification.objects.filter(
            expired, handed_at__isnull=True, attempts__gte=max_attempts
        ).update(state=State.FAILED, claim_token=None, last_error_code="lease_expired")
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(expired, handed_at__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            Notification.objects.filter(id__in=ids).update(
                state=State.PENDING,
                claim_token=None,
                next_attempt_at=now,
                last_error_code="lease_expired",
            )
            tasks.schedule(ids)
        unknown = Notification.objects.filter(expired, handed_at__isnull=False).update(
            state=State.FAILED, claim_token=None, last_error_code=OUTCOME_UNKNOWN
        )
    if ids:
        log.warning("notifications requeued after their worker stopped: %d", len(ids))
    if unknown:
        log.warning("notifications with an unknown outcome (not re-sent): %d", unknown)
    return len(ids), unknown


def requeue_orphans(limit: int = SWEEP_BATCH) -> int:
    """Queue a new task for pending rows that have been due for longer than a lease while their
    task is no longer waiting (it failed before claiming, or its worker died first).
    Returns how many were requeued."""
    cutoff = timezone.now() - lease()
    waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY).values("id")
    orphans = Notification.objects.filter(state=State.PENDING, next_attempt_at__lt=cutoff).exclude(
        task_id__in=waiting
    )
    if not orphans.exists():
        return 0
    with transaction.atomic():
        ids = list(
            orphans.select_for_update(skip_locked=True)
            .order_by("id")
            .values_list("id", flat=True)[:limit]
        )
        tasks.schedule(ids)
    if ids:
        log.warning("pending notifications without a waiting task requeued: %d", len(ids))
    return len(ids)


def settle_abandoned_tasks() -> int:
    """Mark delivery task results that stayed ``RUNNING`` far past a lease (their worker was
    killed) as failed, so the task table tells the truth. The notifications themselves are
    settled by ``sweep_expired`` and ``requeue_orphans``. Returns how many were marked."""
    cutoff = timezone.now() - 2 * lease()
    abandoned = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING,
        task_path__in=[tasks.deliver_notification.module_path, tasks.deliver_subject.module_path],
        started_at__lt=cutoff,
    )
    count = 0
    for result in abandoned[:SWEEP_BATCH]:
        result.set_failed(WorkerLost("the worker stopped while running this task"))
        count += 1
    return count


class WorkerLost(Exception):
    """Recorded on a delivery task result whose worker stopped before finishing it."""


def sweep() -> dict[str, int]:
    """The periodic maintenance step of ``carethread worker``: counts of what it changed."""
    requeued, unknown = sweep_expired()
    counts = {
        "requeued": requeued + requeue_orphans(),
        OUTCOME_UNKNOWN: unknown,
        "abandoned_tasks": settle_abandoned_tasks(),
    }
    return {key: value for key, value in counts.items() if value}

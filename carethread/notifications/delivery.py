"""Delivering notifications: claim, re-check, hand over, record the outcome.

``deliver(id)`` is the body of the delivery task (``tasks.deliver_notification``).
Guarantee (see docs/notifications.md): a notification is never lost, and it is sent once;
only when a hand-over's outcome is unknown is it sent again, with the same ``Message-ID``, so a
rare duplicate is recognisable as one.

1. ``claim`` moves a due ``pending`` row to ``sending`` with a conditional UPDATE (one winner)
   and a fresh claim token and lease.
2. The "still wanted?" checks run, on every attempt; unwanted rows end ``skipped``.
3. The email is built; its ``Message-ID`` is written on the row the first time and reused by
   every later attempt. The SMTP connection is opened (nothing is transmitted yet), then
   ``handed_at`` is committed, then the message is sent and the row becomes ``sent``. Every
   later write is conditional on the claim token, so a worker whose lease has expired cannot
   overwrite what another did.
4. Failures before the hand-over, and definite refusals (4xx/5xx replies) after it, are
   retried with back-off (4xx, network errors) or fail at once (5xx). A lost connection or a
   time-out after the hand-over leaves the outcome unknown: the row goes back to ``pending``
   with back-off and ``unknown_outcome_retries`` + 1.
5. A ``sending`` row past its lease (the worker died) is swept: without ``handed_at`` nothing
   reached the SMTP server, so it goes back to ``pending`` with a new task; with ``handed_at``
   the outcome is unknown, so it goes back to ``pending`` too, due at once, with
   ``unknown_outcome_retries`` + 1.
6. Ceilings: failures end the row ``failed`` after ``MAX_ATTEMPTS`` claims (claims whose
   outcome was unknown are not counted); unknown outcomes after ``MAX_UNKNOWN_RETRIES``
   retries (a hand-over that never gets an answer is not re-sent for ever). A ``failed`` row
   stays listed for the practice's administrators (``health``).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import uuid
from collections import Counter

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
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
MAX_UNKNOWN_RETRIES = 5
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_MAX = dt.timedelta(hours=1)
OUTCOME_UNKNOWN = "outcome_unknown"
SWEEP_BATCH = 500


def setting(name: str, default: object) -> object:
    return getattr(settings, f"CARETHREAD_NOTIFICATION_{name}", default)


def max_attempts() -> int:
    value = setting("MAX_ATTEMPTS", MAX_ATTEMPTS)
    assert isinstance(value, int)
    return value


def max_unknown_retries() -> int:
    value = setting("MAX_UNKNOWN_RETRIES", MAX_UNKNOWN_RETRIES)
    assert isinstance(value, int)
    return value


def out_of_attempts(notification: Notification) -> bool:
    """Failures so far (claims whose outcome was unknown are not failures) reach the ceiling."""
    return notification.attempts - notification.unknown_outcome_retries >= max_attempts()


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


def _message_id(notification: Notification) -> None:
    """Write the email's Message-ID on the row the first time it is built; later attempts
    read the stored one (``email.message_id``)."""
    if notification.message_id:
        return
    Notification.objects.filter(id=notification.id, message_id="").update(
        message_id=email.message_id(notification)
    )
    notification.refresh_from_db(fields=["message_id"])


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


def _open(backend: BaseEmailBackend) -> None:
    """Connect, greet (EHLO), start TLS and log in: nothing of the message is sent yet."""
    backend.open()
    smtp = getattr(backend, "connection", None)
    if smtp is not None and hasattr(smtp, "ehlo_or_helo_if_needed"):
        smtp.ehlo_or_helo_if_needed()


def _close(backend: BaseEmailBackend) -> None:
    try:
        backend.close()
    except Exception as exc:  # the outcome is already recorded; a failed QUIT changes nothing
        log.info("closing the SMTP connection failed: %s", type(exc).__name__)


def deliver(notification_id: int) -> str | None:
    """Deliver one notification if it is due and unclaimed. Returns the state it ended in
    (``None`` when it was not claimed here, or its lease ran out and the sweep took it back)."""
    token = claim(notification_id)
    if token is None:
        return None
    notification = Notification.objects.select_related("recipient").get(id=notification_id)
    reason = checks.skip_reason(notification)
    if reason:
        _finish(notification_id, token, state=State.SKIPPED, last_error_code=reason[:64])
        log.info("notification %s skipped: %s", notification.uuid, reason)
        return State.SKIPPED
    _message_id(notification)
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
            if isinstance(exc, OSError):
                # The message may have reached the server: send it again, same Message-ID.
                return _unknown(notification, token, type(exc).__name__)
            _finish(notification_id, token, state=State.FAILED, last_error_code="error")
            log.error("notification %s failed: error (%s)", notification.uuid, type(exc).__name__)
            return State.FAILED
        recorded = _finish(
            notification_id, token, state=State.SENT, sent_at=timezone.now(), last_error_code=""
        )
        if not recorded:
            # The lease ran out during the SMTP exchange and the sweep took the row back: its
            # next claim sends it again (counted, same Message-ID).
            log.warning("notification %s sent after its lease ran out", notification.uuid)
            return None
        log.info("notification %s sent", notification.uuid)
        return State.SENT
    finally:
        _close(backend)


def _failed(notification: Notification, token: uuid.UUID, code: str, transient: bool) -> str:
    """The message was not accepted: retry later (with a new task) or give up."""
    if transient and not out_of_attempts(notification):
        failures = notification.attempts - notification.unknown_outcome_retries
        _retry(notification, token, backoff(failures), last_error_code=code)
        log.warning("notification %s will be retried: %s", notification.uuid, code)
        return State.PENDING
    _finish(notification.id, token, state=State.FAILED, last_error_code=code)
    log.error("notification %s failed: %s", notification.uuid, code)
    return State.FAILED


def _unknown(notification: Notification, token: uuid.UUID, error: str) -> str:
    """The message may or may not have reached the server: retry it (same Message-ID, counted),
    unless unknown outcomes have reached their ceiling."""
    retries = notification.unknown_outcome_retries
    if retries >= max_unknown_retries():
        _finish(notification.id, token, state=State.FAILED, last_error_code=OUTCOME_UNKNOWN)
        log.error("notification %s failed: %s (%s)", notification.uuid, OUTCOME_UNKNOWN, error)
        return State.FAILED
    _retry(
        notification,
        token,
        backoff(retries + 1),
        last_error_code=OUTCOME_UNKNOWN,
        unknown_outcome_retries=F("unknown_outcome_retries") + 1,
    )
    log.warning(
        "notification %s will be retried: %s (%s)", notification.uuid, OUTCOME_UNKNOWN, error
    )
    return State.PENDING


def _retry(
    notification: Notification, token: uuid.UUID, delay: dt.timedelta, **fields: object
) -> None:
    """Back to ``pending``, due after ``delay``, with a new task: one transaction."""
    due = timezone.now() + delay
    with transaction.atomic():
        rearmed = _finish(
            notification.id,
            token,
            state=State.PENDING,
            next_attempt_at=due,
            handed_at=None,
            **fields,
        )
        if rearmed:
            tasks.schedule([notification.id], run_after=due)


def sweep_expired(limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Settle ``sending`` rows whose lease has run out (their worker died or stalled).

    Not handed over: back to ``pending``, due now, with a new delivery task (``requeued``), or
    ``failed`` with ``lease_expired`` once it has used all its attempts. Handed over: the
    outcome is unknown, so back to ``pending`` too, due now, with a new task and
    ``unknown_outcome_retries`` + 1 (``outcome_unknown``), or ``failed`` with
    ``outcome_unknown`` past the ceiling of such retries (``failed``). Returns those counts.
    """
    now = timezone.now()
    expired = Q(state=State.SENDING, lease_until__lt=now)
    if not Notification.objects.filter(expired).exists():
        return {}
    not_handed = expired & Q(handed_at__isnull=True)
    handed = expired & Q(handed_at__isnull=False)
    with transaction.atomic():
        Notification.objects.filter(
            not_handed, attempts__gte=F("unknown_outcome_retries") + max_attempts()
        ).update(state=State.FAILED, claim_token=None, last_error_code="lease_expired")
        gave_up = Notification.objects.filter(
            handed, unknown_outcome_retries__gte=max_unknown_retries()
        ).update(state=State.FAILED, claim_token=None, last_error_code=OUTCOME_UNKNOWN)
        requeued = _rearm(not_handed, now, limit, last_error_code="lease_expired")
        unknown = _rearm(
            handed,
            now,
            limit,
            last_error_code=OUTCOME_UNKNOWN,
            unknown_outcome_retries=F("unknown_outcome_retries") + 1,
        )
    if requeued:
        log.warning("notifications requeued after their worker stopped: %d", requeued)
    if unknown:
        log.warning("notifications with an unknown outcome, to be sent again: %d", unknown)
    if gave_up:
        log.error("notifications failed after repeated unknown outcomes: %d", gave_up)
    counts = {"requeued": requeued, OUTCOME_UNKNOWN: unknown, "failed": gave_up}
    return {key: value for key, value in counts.items() if value}


def _rearm(rows: Q, now: dt.datetime, limit: int, **fields: object) -> int:
    """Put up to ``limit`` of these rows back to ``pending``, due now, each with a new task."""
    ids = list(
        Notification.objects.select_for_update(skip_locked=True)
        .filter(rows)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    if ids:
        Notification.objects.filter(id__in=ids).update(
            state=State.PENDING, claim_token=None, handed_at=None, next_attempt_at=now, **fields
        )
        tasks.schedule(ids)
    return len(ids)


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
    counts = Counter(sweep_expired())
    counts["requeued"] += requeue_orphans()
    counts["abandoned_tasks"] += settle_abandoned_tasks()
    return {key: value for key, value in counts.items() if value}

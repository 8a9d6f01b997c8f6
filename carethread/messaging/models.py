"""Threads and messages between patients (or their representatives) and the practice.

Content (subjects, bodies, note texts, attachment names and bytes, readings) is encrypted at rest
with ``carethread.crypto`` and bound to its row's UUID; everything else here is metadata the
inbox, the triage workflow and the measure engine read without decrypting anything.

What the measure engine reads (kept for every message, so any past period is reproducible):
``Message.status``, ``sent_at``, ``sender_kind`` with the sender's row, ``on_behalf_of``,
``author`` (the login that wrote it), ``in_response_to``, the ``Recipient`` rows, and the
thread's ``patient`` (the patient the message is about) and ``organization``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from carethread.core.models import (
    CareTeamPool,
    Organization,
    Patient,
    Practitioner,
    Representative,
)
from carethread.crypto.fields import EncryptedValuesMixin, encrypted_field


class Category(models.TextChoices):
    MEDICAL = "medical", "Medical question"
    REFILL = "refill", "Prescription refill"
    APPOINTMENT = "appointment", "Appointment"
    REFERRAL = "referral", "Referral"
    BILLING = "billing", "Billing"
    AMEND = "amend-record", "Request to amend my record"
    OTHER = "other", "Other"


class Side(models.TextChoices):
    """Which side of the conversation a participant is on."""

    PATIENT = "patient", "Patient"
    REPRESENTATIVE = "representative", "Representative"
    PRACTICE = "practice", "Practice"


class Thread(EncryptedValuesMixin, models.Model):
    """A conversation about one patient, held by one organisation (TIN)."""

    class Kind(models.TextChoices):
        # Patient (or representative) and practice users.
        PATIENT = "patient", "Patient conversation"
        # Clinician to clinician about a patient; the patient side sees it only if included.
        CLINICAL = "clinical", "Clinician conversation"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CLOSED = "closed", "Closed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source_key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="threads")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="threads")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PATIENT)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.OTHER)
    subject_ct = encrypted_field()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    # Who started it: the patient side (patient/representative) or the practice.
    started_by = models.CharField(max_length=16, choices=Side.choices)
    # Whether the patient side (patient and representatives) takes part.
    includes_patient = models.BooleanField(default=True)
    # Kept from representatives by the patient's choice.
    private_from_representatives = models.BooleanField(default=False)
    pool = models.ForeignKey(
        CareTeamPool, null=True, blank=True, on_delete=models.SET_NULL, related_name="threads"
    )
    assignee = models.ForeignKey(
        Practitioner,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_threads",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    # The oldest patient-side message not yet answered by the practice, and when it is due.
    awaiting_reply_since = models.DateTimeField(null=True, blank=True)
    reply_due_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every change of the thread's state (optimistic concurrency: If-Match).
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-last_message_at"], name="thread_org_recent"),
            models.Index(fields=["pool", "-last_message_at"], name="thread_pool_recent"),
            models.Index(fields=["assignee", "-last_message_at"], name="thread_assignee_recent"),
            models.Index(fields=["patient", "-last_message_at"], name="thread_patient_recent"),
        ]

    def __str__(self) -> str:
        return f"Thread {self.uuid}"


class Message(EncryptedValuesMixin, models.Model):
    """One message. ``status`` uses FHIR Communication's codes: sent messages are
    ``completed``; a retraction sets ``entered-in-error`` (the row is kept)."""

    class Status(models.TextChoices):
        PREPARATION = "preparation"
        IN_PROGRESS = "in-progress"
        NOT_DONE = "not-done"
        ON_HOLD = "on-hold"
        STOPPED = "stopped"
        COMPLETED = "completed"
        ENTERED_IN_ERROR = "entered-in-error"
        UNKNOWN = "unknown"

    class SenderKind(models.TextChoices):
        PATIENT = "patient", "Patient"
        REPRESENTATIVE = "representative", "Representative"
        PRACTITIONER = "practitioner", "Practitioner"
        # Automatic messages (acknowledgements, out-of-office replies).
        SYSTEM = "system", "System"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source_key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    # The identifier reports show as evidence (Communication.identifier[0].value when imported,
    # else "msg-" + the UUID's hex).
    identifier = models.CharField(max_length=128, unique=True)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    in_response_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="responses"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.COMPLETED)
    sender_kind = models.CharField(max_length=16, choices=SenderKind.choices)
    sender_patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sender_representative = models.ForeignKey(
        Representative, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sender_practitioner = models.ForeignKey(
        Practitioner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sent_messages",
    )
    # A staff member sending for a clinician (FHIR extension urn:carethread:on-behalf-of).
    on_behalf_of = models.ForeignKey(
        Practitioner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages_on_behalf",
    )
    # The login that wrote it (null for imported history and automatic messages).
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="authored_messages",
    )
    is_automatic = models.BooleanField(default=False)
    body_ct = encrypted_field()
    # Structured home readings (JSON), encrypted like the body.
    readings_ct = encrypted_field(null=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The first time someone on the other side read it (the read receipt).
    first_read_at = models.DateTimeField(null=True, blank=True)
    retracted_at = models.DateTimeField(null=True, blank=True)
    retracted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A client's idempotency key: replaying the same send returns the same message.
    client_key = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["thread", "sent_at"], name="message_thread_sent"),
            models.Index(fields=["sent_at"], name="message_sent"),
            models.Index(fields=["sender_practitioner", "sent_at"], name="message_sender_sent"),
            models.Index(fields=["author", "created_at"], name="message_author_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "client_key"],
                condition=Q(client_key__isnull=False),
                name="message_client_key_once",
            )
        ]

    @property
    def is_patient_side(self) -> bool:
        return self.sender_kind in (self.SenderKind.PATIENT, self.SenderKind.REPRESENTATIVE)

    @property
    def is_retracted(self) -> bool:
        return self.status == self.Status.ENTERED_IN_ERROR

    def __str__(self) -> str:
        return f"Message {self.identifier}"


class Recipient(models.Model):
    """One addressee of a message: a patient, a representative, a practitioner or a pool."""

    class Kind(models.TextChoices):
        PATIENT = "patient"
        REPRESENTATIVE = "representative"
        PRACTITIONER = "practitioner"
        POOL = "pool"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="recipients")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    representative = models.ForeignKey(
        Representative, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    practitioner = models.ForeignKey(
        Practitioner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="received_messages",
    )
    pool = models.ForeignKey(
        CareTeamPool, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["patient", "message"], name="recipient_patient"),
            models.Index(fields=["practitioner", "message"], name="recipient_practitioner"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="patient", patient__isnull=False)
                    | Q(kind="representative", representative__isnull=False)
                    | Q(kind="practitioner", practitioner__isnull=False)
                    | Q(kind="pool", pool__isnull=False)
                ),
                name="recipient_kind_has_target",
            )
        ]

    def __str__(self) -> str:
        return f"Recipient {self.pk} ({self.kind})"


class ThreadMember(models.Model):
    """A login's place in a thread: its inbox row, unread count and read position.

    ``last_message_at`` repeats the thread's, so an inbox is one index range scan.
    Holding a row does not grant access by itself: ``access`` checks the current rights.
    """

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="thread_memberships"
    )
    side = models.CharField(max_length=16, choices=Side.choices)
    unread = models.PositiveIntegerField(default=0)
    last_read_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "user"], name="thread_member_once")
        ]
        indexes = [
            models.Index(fields=["user", "-last_message_at"], name="member_inbox"),
            # The unread total: only the rows that have something unread (covering on PostgreSQL).
            models.Index(
                fields=["user", "thread"],
                include=["unread"],
                condition=Q(unread__gt=0),
                name="member_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"ThreadMember {self.pk}"


class Attachment(EncryptedValuesMixin, models.Model):
    """A file: uploaded first (no message yet), then attached when a message is sent."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The type found from the content (magic bytes), never the client's claim.
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    filename_ct = encrypted_field()
    data_ct = encrypted_field()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Attachment {self.uuid}"


class Note(EncryptedValuesMixin, models.Model):
    """An internal note on a thread: practice users only, never the patient side."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(Practitioner, on_delete=models.PROTECT, related_name="+")
    body_ct = encrypted_field()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Note {self.uuid}"


class Draft(EncryptedValuesMixin, models.Model):
    """A message being written, kept on the server; visible to its author only."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="message_drafts"
    )
    # A reply draft belongs to a thread; a new-thread draft names its patient and recipients.
    thread = models.ForeignKey(
        Thread, null=True, blank=True, on_delete=models.CASCADE, related_name="drafts"
    )
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Recipient references as {"practitioners": [uuid...], "pool": uuid|None, ...}: ids only.
    recipients = models.JSONField(default=dict, blank=True)
    category = models.CharField(max_length=16, choices=Category.choices, blank=True)
    subject_ct = encrypted_field(null=True)
    body_ct = encrypted_field(null=True)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"Draft {self.uuid}"


class RoutingRule(models.Model):
    """New patient messages of a category go to a pool."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="routing_rules"
    )
    category = models.CharField(max_length=16, choices=Category.choices)
    pool = models.ForeignKey(CareTeamPool, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "category"], name="routing_once_per_category"
            )
        ]

    def __str__(self) -> str:
        return f"RoutingRule {self.category}"


class Template(models.Model):
    """A quick reply with placeholders such as ``{patient_first_name}`` (see templates.py).

    Template texts are practice boilerplate, not PHI, so they are stored in clear."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="message_templates"
    )
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=16, choices=Category.choices, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="template_name_once_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"Template {self.name}"


class OutOfOffice(models.Model):
    """A practitioner's absence: new patient messages get an automatic reply and go to the
    delegate."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, related_name="absences"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reply_text = models.CharField(max_length=500, blank=True)
    delegate = models.ForeignKey(
        Practitioner, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="absence_period_ordered"
            )
        ]

    def __str__(self) -> str:
        return f"OutOfOffice {self.uuid}"


class Outreach(EncryptedValuesMixin, models.Model):
    """A bulk outreach: previewed first, then confirmed once; one thread per patient."""

    class State(models.TextChoices):
        PREVIEW = "preview"
        SENT = "sent"
        CANCELLED = "cancelled"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        Practitioner, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    category = models.CharField(max_length=16, choices=Category.choices)
    subject_ct = encrypted_field()
    body_ct = encrypted_field()
    # Patient UUIDs (strings) that will be messaged, fixed at preview time.
    patients = models.JSONField(default=list)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PREVIEW)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Outreach {self.uuid}"


class EmergencyAccess(EncryptedValuesMixin, models.Model):
    """One use of emergency access ("break the glass", docs/messaging.md): a practice user
    holding the right at ``organization`` opens ``patient``'s threads there, read-only, from
    ``started_at`` until ``ends_at`` or until ended early (``ended_at``). The stated reason is a
    code; the free text beside it is encrypted and shown only in the emergency-access report."""

    class Reason(models.TextChoices):
        PATIENT_SAFETY = "patient-safety", "Patient safety emergency"
        UNABLE_TO_CONSENT = "unable-to-consent", "Patient unable to consent"
        CLINICIAN_UNREACHABLE = (
            "clinician-unreachable",
            "Continuity of care: the patient's clinician cannot be reached",
        )
        OTHER = "other", "Other (explain below)"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=32, choices=Reason.choices)
    explanation_ct = encrypted_field(null=True)
    started_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "ends_at"], name="emergency_user_ends"),
            models.Index(fields=["organization", "started_at"], name="emergency_org_started"),
        ]

    def __str__(self) -> str:
        return f"EmergencyAccess {self.uuid}"

    @property
    def closed_at(self) -> dt.datetime:
        """When it stopped (or stops): ended early, else its end."""
        return self.ended_at or self.ends_at


ENCRYPTED_FIELDS: list[tuple[type[models.Model], str]] = [
    (Thread, "subject_ct"),
    (Message, "body_ct"),
    (Message, "readings_ct"),
    (Attachment, "filename_ct"),
    (Attachment, "data_ct"),
    (Note, "body_ct"),
    (Draft, "subject_ct"),
    (Draft, "body_ct"),
    (Outreach, "subject_ct"),
    (Outreach, "body_ct"),
    (EmergencyAccess, "explanation_ct"),
]

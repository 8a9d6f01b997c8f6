"""People and visits: organisations, locations, practitioners, patients, representatives,
encounters and care-team pools.

Every model that can come from a FHIR import keeps ``source_key`` ("ResourceType/id" of the
import source) so a re-import matches rows that have no business identifier.
Public identifiers are random UUIDs; integer keys never leave the server.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from carethread.core.validators import validate_npi, validate_pos, validate_tin


class Organization(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source_key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    tin = models.CharField("TIN", max_length=9, unique=True, validators=[validate_tin])
    name = models.CharField(max_length=200)
    # Whether patients may message this practice (the audited switch read by mod2-2015).
    messaging_enabled = models.BooleanField(default=True)
    expected_response_hours = models.PositiveIntegerField(default=72)
    # A thread closes to patient replies after this many days without a message.
    reply_window_days = models.PositiveIntegerField(default=14)
    # How far back a visit makes an "established relationship" for patient-initiated messages.
    relationship_lookback_days = models.PositiveIntegerField(default=3 * 365)
    # Answer each new patient thread with an automatic acknowledgement.
    auto_acknowledge = models.BooleanField(default=True)
    # Email notifications may name the sender (only for recipients who opt in as well).
    notify_sender_name = models.BooleanField(default=False)
    # The number patients are told to call (shown on the blocked-portal page and in the portal).
    phone = models.CharField(max_length=32, blank=True, default="")
    # How long one emergency access ("break the glass") lasts.
    emergency_access_minutes = models.PositiveIntegerField(default=60)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (TIN {self.tin})"


class Location(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source_key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="locations"
    )
    name = models.CharField(max_length=200)
    pos_code = models.CharField("place of service", max_length=2, validators=[validate_pos])
    state = models.CharField(max_length=2, blank=True)
    county = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (POS {self.pos_code})"


class Practitioner(models.Model):
    """A clinician or a non-provider staff member; the role is per organisation (Membership)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source_key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    npi = models.CharField(
        "NPI", max_length=10, unique=True, null=True, blank=True, validators=[validate_npi]
    )
    family_name = models.CharField(max_length=100)
    given_name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    active = models.BooleanField(default=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="practitioner",
    )
    organizations = models.ManyToManyField(
        Organization, through="Membership", related_name="practitioners"
    )

    class Meta:
        ordering = ["family_name", "given_name"]

    @property
    def display_name(self) -> str:
        return " ".join(part for part in (self.prefix, self.given_name, self.family_name) if part)

    def __str__(self) -> str:
        return self.display_name


class Membership(models.Model):
    """A practitioner's role in one organisation (FHIR PractitionerRole)."""

    class Role(models.TextChoices):
        CLINICIAN = "clinician", "Clinician"
        STAFF = "staff", "Staff"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source_key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    is_admin = models.BooleanField(
        default=False,
        help_text="Manages the practice's users and settings (does not grant message access).",
    )
    # Reads the practice's audit report (a named permission an administrator grants).
    is_auditor = models.BooleanField(default=False)
    # May open a patient's threads outside their normal rights, with a reason, for a limited time.
    emergency_access = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practitioner", "organization"], name="membership_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.practitioner}: {self.role} at {self.organization}"


class Patient(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source_key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    mrn = models.CharField("MRN", max_length=64, unique=True)
    family_name = models.CharField(max_length=100)
    given_name = models.CharField(max_length=100, blank=True)
    birth_date = models.DateField()
    email = models.EmailField(blank=True)
    active = models.BooleanField(default=True)
    managing_organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="patients"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patient",
    )

    class Meta:
        ordering = ["family_name", "given_name"]

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    def __str__(self) -> str:
        return f"Patient {self.mrn}"


class Representative(models.Model):
    """A patient-authorised representative (proxy), valid from ``valid_from`` to ``valid_until``.

    Both bounds are inclusive instants: ``valid_until`` is the last instant the authorisation
    covers (an imported date-only FHIR end is the last microsecond of that local day)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source_key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="representatives")
    family_name = models.CharField(max_length=100)
    given_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    relationship = models.CharField(
        max_length=64, blank=True, help_text="v3 RoleCode, e.g. MTH, FTH, GUARD"
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    consent_given_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the patient (or guardian) authorised this representative.",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="representations",
    )

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_until__gte=models.F("valid_from")),
                name="representative_period_ordered",
            )
        ]

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @staticmethod
    def valid_at_q(when: datetime.datetime) -> Q:
        """``is_valid_at(when)`` as a filter (keep the two together)."""
        return (
            Q(active=True, consent_given_at__isnull=False)
            & (Q(valid_from__isnull=True) | Q(valid_from__lte=when))
            & (Q(valid_until__isnull=True) | Q(valid_until__gte=when))
        )

    def is_valid_at(self, when: datetime.datetime) -> bool:
        return (
            self.active
            and self.consent_given_at is not None
            and (self.valid_from is None or self.valid_from <= when)
            and (self.valid_until is None or when <= self.valid_until)
        )

    def __str__(self) -> str:
        return f"Representative of {self.patient}"


class Encounter(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned"
        ARRIVED = "arrived"
        TRIAGED = "triaged"
        IN_PROGRESS = "in-progress"
        ONLEAVE = "onleave"
        FINISHED = "finished"
        CANCELLED = "cancelled"
        ENTERED_IN_ERROR = "entered-in-error"
        UNKNOWN = "unknown"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source_key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    class_code = models.CharField(
        max_length=20, help_text="v3 ActCode, e.g. AMB, VR (virtual), EMER, IMP"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters")
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="encounters"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.PROTECT, related_name="encounters"
    )
    start = models.DateTimeField()
    participants = models.ManyToManyField(
        Practitioner, through="EncounterParticipant", related_name="encounters"
    )

    class Meta:
        indexes = [
            models.Index(fields=["organization", "start"], name="encounter_org_start"),
            models.Index(fields=["patient", "start"], name="encounter_patient_start"),
        ]

    def __str__(self) -> str:
        return f"Encounter {self.uuid}"


class EncounterParticipant(models.Model):
    encounter = models.ForeignKey(
        Encounter, on_delete=models.CASCADE, related_name="participations"
    )
    practitioner = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, related_name="participations"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["encounter", "practitioner"], name="participant_unique")
        ]
        indexes = [
            models.Index(fields=["practitioner", "encounter"], name="participant_by_practitioner")
        ]

    def __str__(self) -> str:
        return f"Participant {self.practitioner_id} in encounter {self.encounter_id}"


class CareTeamPool(models.Model):
    """A shared inbox of an organisation (e.g. "Refills", "Front desk")."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source_key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="pools")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    members = models.ManyToManyField(Practitioner, related_name="pools", blank=True)
    active = models.BooleanField(default=True)
    # Response-time target for this pool's threads (the organisation's when empty).
    response_target_hours = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="pool_name_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organization.name})"

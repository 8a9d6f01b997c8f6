"""Users and how they enter the portal: one login can be a patient, a representative of one or
more patients, and/or a practice user (linked to a Practitioner)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from carethread.accounts import roles


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        if not email:
            raise ValueError("A user needs an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin site.")
    date_joined = models.DateTimeField(default=timezone.now)
    # Portal blocking (patients and representatives): blocked users cannot sign in or send.
    blocked_at = models.DateTimeField(null=True, blank=True)
    # Named users who may change audit settings (a small, named set; docs/audit.md).
    is_audit_admin = models.BooleanField(default=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return f"User {self.uuid}"

    @property
    def is_blocked(self) -> bool:
        return self.blocked_at is not None

    @property
    def primary_role(self) -> str:
        """The one role this login is shown and audited in (``roles.primary_role``)."""
        return roles.primary_role(self)


class Invitation(models.Model):
    """A single-use, expiring invitation to enrol in the portal as a patient or a representative,
    or to join a practice as a practice user (``practitioner`` and ``organization`` set, no
    patient).

    Only keyed digests are kept: of the token (link) and of the short code (printed at the front
    desk; patients only). A representative's invitation has no code: its link goes to the
    representative's address on record, whose digest is kept in ``email_hash``, and enrolment
    must use that address.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "core.Patient", null=True, blank=True, on_delete=models.CASCADE, related_name="invitations"
    )
    # A practice user's invitation: the practitioner the new login is linked to, and the
    # practice that invited them.
    practitioner = models.ForeignKey(
        "core.Practitioner",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    organization = models.ForeignKey(
        "core.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="practice_invitations",
    )
    representative = models.ForeignKey(
        "core.Representative",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    token_hash = models.CharField(max_length=64, unique=True)
    code_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    email_hash = models.CharField(
        max_length=64, blank=True, default="", help_text="The address it was sent to (digest)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    failed_checks = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"Invitation {self.uuid}"

    def state(self, now: dt.datetime | None = None) -> str:
        """What became of it: ``used``, ``revoked``, ``expired`` (or locked) or ``sent``."""
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        return "sent" if self.is_usable(now) else "expired"

    def is_usable(self, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        return (
            self.used_at is None
            and self.revoked_at is None
            and now < self.expires_at
            and self.failed_checks < 5
        )

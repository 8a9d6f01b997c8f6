"""What a signed-in user is: patient, representative and/or practice user."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

if TYPE_CHECKING:
    from carethread.accounts.models import User
    from carethread.core.models import Patient, Practitioner


def practitioner_of(user: User | AnonymousUser) -> Practitioner | None:
    """The practitioner linked to this login, if any (an anonymous user has none)."""
    if isinstance(user, AnonymousUser):
        return None
    try:
        return user.practitioner
    except AttributeError:
        return None
    except Exception:  # RelatedObjectDoesNotExist
        return None


def patient_of(user: User | AnonymousUser) -> Patient | None:
    """The patient linked to this login, if any (an anonymous user has none)."""
    if isinstance(user, AnonymousUser):
        return None
    try:
        return user.patient
    except Exception:  # RelatedObjectDoesNotExist
        return None


def is_practice_user(user: User | AnonymousUser) -> bool:
    """An active practitioner with an active membership (never an anonymous user)."""
    practitioner = practitioner_of(user)
    return (
        practitioner is not None
        and practitioner.active
        and practitioner.memberships.filter(active=True).exists()
    )


def represented_patients(user: User, when: datetime | None = None) -> list[Patient]:
    """Patients this user may act for as a representative right now (authorisation valid)."""
    when = when or timezone.now()
    return [
        rep.patient
        for rep in user.representations.select_related("patient")
        if rep.is_valid_at(when)
    ]


def primary_role(user: User) -> str:
    if (
        getattr(user, "is_superuser", False)
        and practitioner_of(user) is None
        and patient_of(user) is None
    ):
        return "admin"
    if is_practice_user(user):
        return "practice"
    if patient_of(user) is not None:
        return "patient"
    if user.representations.exists():
        return "representative"
    return "user"

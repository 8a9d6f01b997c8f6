"""A patient with a distinctive name who has a portal login, for the notifications tests."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from carethread.accounts.models import User
from carethread.core.models import Organization, Patient

DISTINCTIVE = "Quixotefeather"


@pytest.fixture
def patient_user(db):
    org = Organization.objects.create(tin="271234599", name="Riverside Family Medicine")
    user = User.objects.create_user("zeb@example.org", "a-long-password-123")
    Patient.objects.create(
        mrn="MRN-Q-77",
        family_name=DISTINCTIVE,
        given_name="Zebulon",
        birth_date=dt.date(1971, 3, 4),
        email="zeb@example.org",
        managing_organization=org,
        user=user,
    )
    return user


@pytest.fixture
def message_id():
    return uuid.uuid4()

"""People for the API tests: a practice user (with and without MFA) and a patient."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from carethread.accounts import actions as account_actions
from carethread.api import actions
from carethread.core.models import Membership, Organization, Patient, Practitioner

PASSWORD = "correct-horse-battery-42"


@pytest.fixture
def org(db):
    return Organization.objects.create(tin="271234567", name="Riverside Family Medicine")


def _practice_user(org, email, *, mfa=True):
    practitioner = Practitioner.objects.create(family_name="Rivera", given_name="Ana", email=email)
    Membership.objects.create(practitioner=practitioner, organization=org, role="clinician")
    user = account_actions.create_user(email, PASSWORD, practitioner=practitioner)
    if mfa:
        TOTP.activate(user, generate_totp_secret())
    return user


@pytest.fixture
def clinician(org):
    return _practice_user(org, "clinician@riverside.example.org")


@pytest.fixture
def new_clinician(org):
    """A practice user without an authenticator app."""
    return _practice_user(org, "new@riverside.example.org", mfa=False)


@pytest.fixture
def patient_user(org):
    patient = Patient.objects.create(
        mrn="RFM-1001",
        family_name="Lopez",
        given_name="Maria",
        birth_date=dt.date(1979, 4, 12),
        email="maria.lopez@example.com",
        managing_organization=org,
    )
    return account_actions.create_user(patient.email, PASSWORD, patient=patient)


@pytest.fixture
def patient_token(patient_user):
    """(row, token string) of a personal token of the patient."""
    return actions.create_token(patient_user, "script")

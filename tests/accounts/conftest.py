"""People for the accounts tests: two practices, their users, patients and a representative."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

# The helpers module sits next to this file; tests import it by name.
sys.path.insert(0, str(Path(__file__).parent))

from accounts_helpers import DOB, PASSWORD
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from carethread.accounts import actions
from carethread.core.models import Membership, Organization, Patient, Practitioner, Representative


@pytest.fixture
def org(db):
    return Organization.objects.create(tin="271234567", name="Riverside Family Medicine")


@pytest.fixture
def other_org(db):
    return Organization.objects.create(tin="271234568", name="Lakeside Pediatrics")


def _practice_user(org, email, *, admin=False, mfa=True):
    practitioner = Practitioner.objects.create(family_name="Rivera", given_name="Ana", email=email)
    membership = Membership.objects.create(
        practitioner=practitioner, organization=org, role="clinician", is_admin=admin
    )
    user = actions.create_user(email, PASSWORD, practitioner=practitioner)
    if mfa:
        TOTP.activate(user, generate_totp_secret())
    user.membership = membership
    return user


@pytest.fixture
def admin_user(org):
    return _practice_user(org, "admin@riverside.example.org", admin=True)


@pytest.fixture
def clinician(org):
    """A practice user of ``org`` who is not an admin (MFA already set up)."""
    return _practice_user(org, "clinician@riverside.example.org")


@pytest.fixture
def new_clinician(org):
    """A practice user who has not set up MFA yet."""
    return _practice_user(org, "new@riverside.example.org", mfa=False)


@pytest.fixture
def other_admin(other_org):
    return _practice_user(other_org, "admin@lakeside.example.org", admin=True)


@pytest.fixture
def patient(org):
    return Patient.objects.create(
        mrn="RFM-1001",
        family_name="Lopez",
        given_name="Maria",
        birth_date=DOB,
        email="maria.lopez@example.com",
        managing_organization=org,
    )


@pytest.fixture
def patient_user(patient):
    return actions.create_user(patient.email, PASSWORD, patient=patient)


@pytest.fixture
def other_patient(other_org):
    return Patient.objects.create(
        mrn="LKP-2001",
        family_name="Doe",
        given_name="Sam",
        birth_date=dt.date(2016, 5, 5),
        managing_organization=other_org,
    )


@pytest.fixture
def representative(patient):
    return Representative.objects.create(
        patient=patient,
        family_name="Lopez",
        given_name="Carlos",
        email="carlos.lopez@example.com",
        relationship="SON",
        consent_given_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)

"""People for the accounts tests: two practices, their users, patients and a representative."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

# The helpers module sits next to this file; tests import it by name.
sys.path.insert(0, str(Path(__file__).parent))

from accounts_helpers import PASSWORD
from django.test import Client
from support.people import maria_lopez, practice_user

from carethread.accounts import actions
from carethread.core.models import Organization, Patient, Representative


@pytest.fixture
def other_org(db):
    return Organization.objects.create(tin="271234568", name="Lakeside Pediatrics")


@pytest.fixture
def admin_user(org):
    return practice_user(org, "admin@riverside.example.org", admin=True)


@pytest.fixture
def other_admin(other_org):
    return practice_user(other_org, "admin@lakeside.example.org", admin=True)


@pytest.fixture
def patient(org):
    return maria_lopez(org)


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

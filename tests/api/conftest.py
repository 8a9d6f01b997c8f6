"""People for the API tests: a patient with a login and a personal token (the practice users are
in tests/conftest.py)."""

from __future__ import annotations

import pytest
from support.people import PASSWORD, maria_lopez

from carethread.accounts import actions as account_actions
from carethread.api import actions


@pytest.fixture
def patient_user(org):
    patient = maria_lopez(org)
    return account_actions.create_user(patient.email, PASSWORD, patient=patient)


@pytest.fixture
def patient_token(patient_user):
    """(row, token string) of a personal token of the patient."""
    return actions.create_token(patient_user, "script")

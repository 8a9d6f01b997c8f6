"""People built one at a time, for tests that need a login or two rather than a whole world.

``riverside()`` is the practice (TIN 271234567); ``practice_user(org, email)`` a clinician's login
there (TOTP set up unless ``mfa=False``; ``user.membership`` is their membership);
``maria_lopez(org)`` the patient RFM-1001 (no login). Every password is ``PASSWORD``.
"""

from __future__ import annotations

import datetime as dt

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from carethread.accounts import actions
from carethread.core.models import Membership, Organization, Patient, Practitioner

PASSWORD = "correct-horse-battery-42"
DOB = dt.date(1979, 4, 12)


def riverside() -> Organization:
    return Organization.objects.create(tin="271234567", name="Riverside Family Medicine")


def practice_user(org: Organization, email: str, *, admin: bool = False, mfa: bool = True):
    practitioner = Practitioner.objects.create(family_name="Rivera", given_name="Ana", email=email)
    membership = Membership.objects.create(
        practitioner=practitioner, organization=org, role="clinician", is_admin=admin
    )
    user = actions.create_user(email, PASSWORD, practitioner=practitioner)
    if mfa:
        TOTP.activate(user, generate_totp_secret())
    user.membership = membership
    return user


def maria_lopez(org: Organization) -> Patient:
    return Patient.objects.create(
        mrn="RFM-1001",
        family_name="Lopez",
        given_name="Maria",
        birth_date=DOB,
        email="maria.lopez@example.com",
        managing_organization=org,
    )

import datetime as dt

import pytest
from django.db import IntegrityError
from django.utils import timezone

from carethread.core.models import Membership, Organization, Patient, Practitioner, Representative

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient():
    return Patient.objects.create(
        mrn="MRN-1", family_name="Doe", given_name="Sam", birth_date=dt.date(2015, 1, 2)
    )


def _rep(patient, **kwargs):
    defaults = {"family_name": "Doe", "given_name": "Jane", "consent_given_at": timezone.now()}
    return Representative.objects.create(patient=patient, **{**defaults, **kwargs})


def test_representative_valid_only_inside_period_with_consent(patient):
    now = timezone.now()
    rep = _rep(
        patient, valid_from=now - dt.timedelta(days=10), valid_until=now + dt.timedelta(days=10)
    )
    assert rep.is_valid_at(now)
    assert not rep.is_valid_at(now - dt.timedelta(days=11))
    assert not rep.is_valid_at(now + dt.timedelta(days=11))
    rep.consent_given_at = None
    assert not rep.is_valid_at(now)
    rep.consent_given_at, rep.active = now, False
    assert not rep.is_valid_at(now)


def test_representative_period_must_be_ordered(patient):
    now = timezone.now()
    with pytest.raises(IntegrityError):
        _rep(patient, valid_from=now, valid_until=now - dt.timedelta(days=1))


def test_practitioner_may_belong_to_two_organisations_once_each():
    a = Organization.objects.create(tin="123456789", name="A")
    b = Organization.objects.create(tin="987654321", name="B")
    doc = Practitioner.objects.create(npi="1234567893", family_name="Chen")
    Membership.objects.create(practitioner=doc, organization=a, role="clinician")
    Membership.objects.create(practitioner=doc, organization=b, role="clinician")
    assert set(doc.organizations.values_list("tin", flat=True)) == {"123456789", "987654321"}
    with pytest.raises(IntegrityError):
        Membership.objects.create(practitioner=doc, organization=a, role="staff")

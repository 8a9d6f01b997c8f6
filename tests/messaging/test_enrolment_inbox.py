"""Imported history shows up in the inbox of logins created after the import."""

from __future__ import annotations

import pytest

from carethread.accounts import actions as accounts
from carethread.core.fhir_import import import_resources
from carethread.core.models import Patient, Representative
from carethread.messaging import queries
from carethread.messaging.access import viewer_for
from carethread.messaging.models import Thread
from tests.messaging.fhir_helpers import communication, practice

pytestmark = pytest.mark.django_db


def test_patient_login_created_after_import_sees_the_imported_threads():
    import_resources(
        [
            *practice(),
            communication("m1"),
            communication(
                "m2",
                sender="Practitioner/c1",
                recipients=("Patient/p1",),
                sent="2024-03-02T10:00:00-05:00",
                inResponseTo=[{"reference": "Communication/m1"}],
            ),
        ]
    )
    patient = Patient.objects.get(mrn="RFM-1001")
    user = accounts.create_user("p1@example.com", "correct-horse-battery-42", patient=patient)
    rows = queries.inbox(viewer_for(user))
    assert len(rows) == 1
    assert rows[0].unread == 0  # history arrives read
    assert queries.unread_total(viewer_for(user)) == 0


def test_representative_login_gets_shared_threads_but_not_private_ones():
    import_resources([*practice(), communication("m1"), communication("m2", topic={"text": "B"})])
    private = Thread.objects.order_by("pk").first()
    Thread.objects.filter(pk=private.pk).update(private_from_representatives=True)
    rep = Representative.objects.get(source_key="RelatedPerson/rp1")
    user = accounts.create_user(
        "rp1@example.com", "correct-horse-battery-42", representatives=[rep]
    )
    threads = set(user.thread_memberships.values_list("thread_id", flat=True))
    assert Thread.objects.count() == 2
    assert threads == set(Thread.objects.exclude(pk=private.pk).values_list("pk", flat=True))

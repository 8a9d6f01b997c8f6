"""``/practice/notifications``: a practice's administrators see the delivery health of its
notifications (pending, sent, skipped, failed, sent again after an unknown outcome); nobody
else sees anything, and nobody sees a recipient or content there."""

from __future__ import annotations

import pytest
from django.test import Client
from support.world import client_of, make_admin

from carethread.accounts import actions as accounts
from carethread.core.models import Membership
from carethread.messaging import actions as messaging
from carethread.notifications.models import Notification

pytestmark = pytest.mark.django_db
URL = "/practice/notifications"
State = Notification.State


def count(page: str, name: str) -> int:
    marker = f'data-count="{name}">'
    start = page.index(marker) + len(marker)
    return int(page[start : page.index("<", start)])


@pytest.fixture
def delivered(world):
    """Riverside: a message to the patient and the representative (one sent, one sent after
    two unknown outcomes), and one to another patient that failed definitively; Hillside: a
    message that failed after an unknown outcome."""
    make_admin(world)
    first = messaging.start_thread(
        world.c1.user, patient=world.patient, category="medical", subject="Results", body="In."
    )
    second = messaging.start_thread(
        world.c2.user,
        patient=world.other_patient,
        category="medical",
        subject="Visit",
        body="Soon.",
    )
    outside = messaging.start_thread(
        world.outsider.user,
        patient=world.outside_patient,
        category="medical",
        subject="Far",
        body="Away.",
    )
    rows = Notification.objects.filter(subject_id=first.uuid).order_by("id")
    rows.filter(recipient=world.patient.user).update(state=State.SENT)
    rows.filter(recipient=world.rep.user).update(state=State.SENT, unknown_outcome_retries=2)
    Notification.objects.filter(subject_id=second.uuid).update(
        state=State.FAILED, last_error_code="smtp_550", attempts=1
    )
    Notification.objects.filter(subject_id=outside.uuid).update(
        state=State.FAILED, last_error_code="outcome_unknown", unknown_outcome_retries=5
    )
    return world


def test_an_admin_sees_the_counts_of_their_practice_only(delivered):
    w = delivered
    response = client_of(w.c1.user).get(URL)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    page = response.content.decode()
    assert "Riverside Family Medicine" in page and "Hillside" not in page
    assert count(page, "sent") == 2
    assert count(page, "failed") == 1
    assert count(page, "pending") == 0
    assert count(page, "retried_after_unknown") == 1
    assert count(page, "unknown_outcome_retries") == 2
    # Listed for attention: the definite failure and the row sent again; not the plain one.
    failed = Notification.objects.get(last_error_code="smtp_550")
    retried = Notification.objects.get(unknown_outcome_retries=2)
    outside = Notification.objects.get(unknown_outcome_retries=5)
    plain = Notification.objects.get(state=State.SENT, unknown_outcome_retries=0)
    assert str(failed.uuid) in page and "smtp_550" in page
    assert str(retried.uuid) in page
    assert str(outside.uuid) not in page and str(plain.uuid) not in page
    # No recipient, no patient, no content.
    for phi in ("maria@example.com", "jane@example.com", "Lopez", "Smith", "Results", "Visit"):
        assert phi not in page


def test_the_other_practices_admin_sees_theirs(delivered):
    w = delivered
    membership = Membership.objects.get(practitioner=w.outsider, organization=w.other_org)
    accounts.set_practice_admin(membership, True, actor=None)
    page = client_of(w.outsider.user).get(URL).content.decode()
    assert "Hillside Pediatrics" in page and "Riverside" not in page
    assert (count(page, "failed"), count(page, "unknown_outcome_retries")) == (1, 5)


@pytest.mark.parametrize("who", ["c2", "staff", "patient", "rep", "outsider"])
def test_anyone_but_an_admin_gets_404(delivered, who):
    w = delivered
    user = getattr(w, who).user
    response = client_of(user).get(URL)
    assert response.status_code == 404
    assert "Riverside" not in response.content.decode()


def test_signed_out_is_sent_to_sign_in(delivered):
    response = Client().get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]

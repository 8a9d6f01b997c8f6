"""Bulk outreach: preview, confirm once, one thread per patient, the hard limit."""

from __future__ import annotations

import uuid

import pytest

from carethread.accounts import actions as accounts
from carethread.audit.models import AuditEvent
from carethread.messaging import outreach
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Message, Outreach, Thread

SUBJECT = "Flu shots for {patient_first_name}"
BODY = "Dear {patient_name}, {practice_name} offers flu shots. Book at {portal_url}"


def preview(world, patients, user=None, **kw):
    args = dict(
        organization=world.org,
        patients=patients,
        category="appointment",
        subject=SUBJECT,
        body=BODY,
    )
    args.update(kw)
    return outreach.preview(user or world.staff.user, **args)


def everyone(world):
    return [
        world.patient,
        world.other_patient,
        world.unenrolled,
        world.blocked_patient,
        world.outside_patient,
        uuid.uuid4(),
    ]


def test_preview_counts_who_can_be_messaged_and_sends_nothing(world):
    row = preview(world, everyone(world))
    summary = row.summary
    assert row.state == "preview"
    assert summary.reachable == [world.patient.uuid, world.other_patient.uuid]
    assert row.patients == [str(world.patient.uuid), str(world.other_patient.uuid)]
    assert summary.counts == {"not_patient": 2, "not_enrolled": 1, "blocked": 1}
    reasons = dict(summary.skipped)
    assert reasons[str(world.unenrolled.uuid)] == "not_enrolled"
    assert reasons[str(world.blocked_patient.uuid)] == "blocked"
    assert reasons[str(world.outside_patient.uuid)] == "not_patient"
    assert summary.sample_subject == "Flu shots for Pat"
    assert summary.sample_body.startswith("Dear Pat Lopez, Riverside Family Medicine offers")
    assert not Thread.objects.exists()
    # Stored as written (placeholders kept), encrypted.
    stored = Outreach.objects.get(pk=row.pk)
    assert stored.unseal("subject_ct") == SUBJECT
    assert b"flu shots" not in bytes(stored.body_ct)
    event = AuditEvent.objects.get(action="outreach.preview")
    assert event.details["reachable"] == 2
    assert "Lopez" not in str(event.details) and "flu" not in str(event.details).lower()


def test_confirm_starts_one_thread_per_patient_rendered_for_each(world):
    row = preview(world, [world.patient, world.other_patient, world.patient.uuid])
    messages = outreach.confirm(world.staff.user, row)
    assert len(messages) == 2
    by_patient = {m.thread.patient_id: m for m in messages}
    assert set(by_patient) == {world.patient.pk, world.other_patient.pk}
    assert Thread.objects.filter(patient=world.patient).count() == 1
    assert Thread.objects.filter(patient=world.other_patient).count() == 1
    first = by_patient[world.other_patient.pk]
    assert first.thread.unseal("subject_ct") == "Flu shots for Pat"
    assert first.unseal("body_ct").startswith("Dear Pat Smith,")
    assert first.sender_kind == "practitioner" and first.sender_practitioner == world.staff
    kinds = sorted(r.kind for r in by_patient[world.patient.pk].recipients.all())
    assert kinds == ["patient", "representative"]
    row.refresh_from_db()
    assert row.state == "sent" and row.confirmed_at is not None
    assert AuditEvent.objects.get(action="outreach.confirm").details == {"messages": 2}


def test_second_confirm_is_refused(world):
    row = preview(world, [world.patient])
    outreach.confirm(world.staff.user, row)
    with pytest.raises(MessagingError) as err:
        outreach.confirm(world.staff.user, row)
    assert err.value.code == "outreach_state" and err.value.status == 409
    assert Thread.objects.count() == 1


def test_confirm_is_all_or_nothing(world):
    row = preview(world, [world.patient, world.other_patient])
    # Between preview and confirm, one patient's portal is blocked.
    accounts.block_portal_access(world.other_patient.user, actor=None, reason_code="misuse")
    with pytest.raises(MessagingError) as err:
        outreach.confirm(world.staff.user, row)
    assert err.value.code == "not_enrolled"
    assert not Thread.objects.exists() and not Message.objects.exists()
    row.refresh_from_db()
    assert row.state == "preview"


def test_limit(world, settings):
    settings.CARETHREAD_OUTREACH_LIMIT = 2
    with pytest.raises(MessagingError) as err:
        preview(world, [world.patient, world.other_patient, world.unenrolled])
    assert err.value.code == "outreach_too_large"
    assert not Outreach.objects.exists()
    # Repeats count once.
    preview(world, [world.patient, world.other_patient, world.patient])


def test_outreach_is_not_held_to_the_sending_rate(world, settings):
    settings.CARETHREAD_SEND_RATE_PER_HOUR = 1
    row = preview(world, [world.patient, world.other_patient])
    assert len(outreach.confirm(world.staff.user, row)) == 2


def test_cancel(world):
    row = preview(world, [world.patient])
    outreach.cancel(world.staff.user, row)
    assert row.state == "cancelled"
    with pytest.raises(MessagingError) as err:
        outreach.confirm(world.staff.user, row)
    assert err.value.code == "outreach_state"
    with pytest.raises(MessagingError):
        outreach.cancel(world.staff.user, row)
    assert not Thread.objects.exists()


def test_on_behalf_of_a_clinician(world):
    row = preview(world, [world.patient], on_behalf_of=world.c1, body="From {clinician_name}")
    assert row.summary.sample_body == "From " + world.c1.display_name
    [message] = outreach.confirm(world.staff.user, row)
    assert message.on_behalf_of == world.c1
    assert message.thread.assignee == world.c1


def test_refusals(world):
    with pytest.raises(MessagingError) as err:
        preview(world, [world.patient], on_behalf_of=world.staff2)
    assert err.value.code == "on_behalf_not_allowed"
    with pytest.raises(MessagingError) as err:
        preview(world, [world.patient], body="Hi {patient.__class__}")
    assert err.value.code == "bad_template"
    with pytest.raises(MessagingError) as err:
        preview(world, [world.patient], user=world.outsider.user)
    assert err.value.code == "not_allowed"
    with pytest.raises(MessagingError) as err:
        preview(world, [world.patient], user=world.patient.user)
    assert err.value.code == "not_allowed"
    with pytest.raises(MessagingError) as err:
        preview(world, [])
    assert err.value.code == "no_recipient"
    with pytest.raises(MessagingError) as err:
        preview(world, ["not-a-uuid"])
    assert err.value.code == "bad_request"
    assert not Outreach.objects.exists()


def test_only_the_author_confirms(world):
    row = preview(world, [world.patient])
    with pytest.raises(MessagingError) as err:
        outreach.confirm(world.c1.user, row)
    assert err.value.code == "not_allowed"
    from django.http import Http404

    with pytest.raises(Http404):
        outreach.outreach_for(world.c1.user, row.uuid)
    assert outreach.outreach_for(world.staff.user, row.uuid) == row
    assert not Thread.objects.exists()

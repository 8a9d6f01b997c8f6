"""Server-side drafts and the addressing functions that resolve a client's UUIDs."""

from __future__ import annotations

import uuid

import pytest
from django.http import Http404
from support.world import patient_question

from carethread.audit.models import AuditEvent
from carethread.messaging import drafts, queries
from carethread.messaging.access import access_thread, viewer_for
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Draft, Message, Thread, ThreadMember


def test_save_encrypts_and_audits_without_content(world):
    draft = drafts.save_draft(
        world.patient.user,
        patient=world.patient,
        recipients={"practitioners": [world.c1.uuid]},
        category="refill",
        subject="Refill for Lopez",
        body="Please renew",
    )
    row = Draft.objects.get(pk=draft.pk)
    assert (row.version, row.category, row.patient, row.thread) == (
        1,
        "refill",
        world.patient,
        None,
    )
    assert row.unseal("subject_ct") == "Refill for Lopez"
    assert b"Lopez" not in bytes(row.subject_ct) and b"renew" not in bytes(row.body_ct)
    assert row.recipients["practitioners"] == [str(world.c1.uuid)]
    event = AuditEvent.objects.get(action="draft.save")
    assert event.patient_id == world.patient.pk and event.object_id == str(row.uuid)
    assert event.details == {"created": True, "thread": None, "version": 1}


def test_update_bumps_the_version_and_refuses_stale_saves(world):
    draft = drafts.save_draft(world.patient.user, patient=world.patient, body="one")
    draft = drafts.save_draft(
        world.patient.user, draft=draft, patient=world.patient, body="two", expected_version=1
    )
    assert draft.version == 2
    with pytest.raises(MessagingError) as err:
        drafts.save_draft(
            world.patient.user, draft=draft, patient=world.patient, body="three", expected_version=1
        )
    assert err.value.code == "stale" and err.value.status == 409
    assert Draft.objects.get(pk=draft.pk).unseal("body_ct") == "two"


def test_drafts_are_visible_to_their_author_only(world):
    draft = drafts.save_draft(world.patient.user, patient=world.patient, body="mine")
    assert drafts.get_draft(world.patient.user, draft.uuid) == draft
    for user in (world.rep.user, world.c1.user, None):
        with pytest.raises(Http404):
            drafts.get_draft(user, draft.uuid)
        assert list(drafts.drafts_of(user)) == []
    for bad in (uuid.uuid4(), "not-a-uuid", None):
        with pytest.raises(Http404):
            drafts.get_draft(world.patient.user, bad)
    with pytest.raises(Http404):
        drafts.save_draft(world.rep.user, draft=draft, patient=world.patient, body="theirs")
    with pytest.raises(Http404):
        drafts.delete_draft(world.rep.user, draft)
    with pytest.raises(Http404):
        drafts.send_draft(world.rep.user, draft)
    assert Draft.objects.get(pk=draft.pk).unseal("body_ct") == "mine"


def test_send_new_thread_draft_deletes_it_in_the_same_transaction(world):
    draft = drafts.save_draft(
        world.rep.user,
        patient=world.patient,
        recipients={"pool": world.refills.uuid},
        category="refill",
        subject="Refill",
        body="Please renew",
    )
    message = drafts.send_draft(world.rep.user, draft)
    assert message.sender_kind == "representative"
    assert message.thread.pool == world.refills
    assert message.thread.unseal("subject_ct") == "Refill"
    assert not Draft.objects.exists()
    assert AuditEvent.objects.filter(action="message.send", object_id=str(message.uuid)).exists()


def test_send_reply_draft(world):
    first = patient_question(world)
    thread, _ = access_thread(world.c1.user, first.thread.uuid)
    draft = drafts.save_draft(
        world.c1.user,
        thread=thread,
        body="Morning is best.",
        recipients={"in_response_to": first.uuid},
    )
    message = drafts.send_draft(world.c1.user, draft)
    assert message.thread_id == thread.pk and message.in_response_to == first
    assert message.sender_practitioner == world.c1
    assert not Draft.objects.exists()


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (
            lambda w: {"patient": w.patient, "body": "", "subject": "S", "category": "medical"},
            "empty_body",
        ),
        (
            lambda w: {"patient": w.patient, "body": "B", "subject": "S", "category": ""},
            "bad_category",
        ),
        (
            lambda w: {
                "patient": w.patient,
                "body": "B",
                "subject": "S",
                "category": "medical",
                "recipients": {"practitioners": [w.c2.uuid]},
            },
            "recipient_not_allowed",
        ),
        (
            lambda w: {
                "patient": w.patient,
                "body": "B",
                "subject": "S",
                "category": "medical",
                "recipients": {"practitioners": [uuid.uuid4()]},
            },
            "recipient_not_allowed",
        ),
        (lambda w: {"body": "B", "subject": "S", "category": "medical"}, "patient_not_allowed"),
    ],
)
def test_refused_send_leaves_the_draft_and_writes_nothing(world, setup, code):
    draft = drafts.save_draft(world.patient.user, **setup(world))
    before = (Message.objects.count(), Thread.objects.count(), AuditEvent.objects.count())
    with pytest.raises(MessagingError) as err:
        drafts.send_draft(world.patient.user, draft)
    assert err.value.code == code
    assert (Message.objects.count(), Thread.objects.count(), AuditEvent.objects.count()) == before
    assert Draft.objects.filter(pk=draft.pk, version=draft.version).exists()


def test_reply_draft_of_a_thread_the_author_lost_is_404(world):
    first = patient_question(world)
    thread, _ = access_thread(world.rep.user, first.thread.uuid)
    draft = drafts.save_draft(world.rep.user, thread=thread, body="For my mother")
    world.rep.active = False
    world.rep.save()
    with pytest.raises(Http404):
        drafts.send_draft(world.rep.user, draft)
    assert Draft.objects.filter(pk=draft.pk).exists()


def test_drafts_never_count_as_messages(world):
    first = patient_question(world)
    thread, _ = access_thread(world.patient.user, first.thread.uuid)
    viewer = viewer_for(world.c1.user)
    before = (
        queries.unread_total(viewer),
        [(r.thread.pk, r.unread) for r in queries.inbox(viewer)],
        Thread.objects.values_list("version", "last_message_at").get(pk=thread.pk),
        Message.objects.count(),
        ThreadMember.objects.count(),
    )
    drafts.save_draft(world.patient.user, thread=thread, body="Also, about the dose...")
    drafts.save_draft(world.patient.user, patient=world.patient, subject="New", body="Later")
    after = (
        queries.unread_total(viewer),
        [(r.thread.pk, r.unread) for r in queries.inbox(viewer)],
        Thread.objects.values_list("version", "last_message_at").get(pk=thread.pk),
        Message.objects.count(),
        ThreadMember.objects.count(),
    )
    assert after == before
    view = queries.thread_view(*access_thread(world.patient.user, thread.uuid))
    assert len(view.messages) == Message.objects.filter(thread=thread).count()


def test_delete_is_audited(world):
    draft = drafts.save_draft(world.patient.user, patient=world.patient, body="x")
    drafts.delete_draft(world.patient.user, draft)
    assert not Draft.objects.exists()
    event = AuditEvent.objects.get(action="draft.delete")
    assert event.object_id == str(draft.uuid) and event.patient_id == world.patient.pk


def test_number_of_drafts_is_capped(world, monkeypatch):
    monkeypatch.setattr(drafts, "MAX_DRAFTS", 2)
    for n in range(2):
        drafts.save_draft(world.patient.user, patient=world.patient, body=str(n))
    with pytest.raises(MessagingError) as err:
        drafts.save_draft(world.patient.user, patient=world.patient, body="third")
    assert err.value.code == "too_many_drafts"


@pytest.mark.parametrize(
    "recipients",
    [
        {"practitioners": ["nope"]},
        {"practitioners": "c1"},
        {"pool": 12},
        {"private": "yes"},
        {"bcc": []},
        {"attachments": [str(uuid.uuid4())] * 21},
        ["not", "a", "dict"],
    ],
)
def test_bad_recipient_references_are_refused(world, recipients):
    with pytest.raises(MessagingError) as err:
        drafts.save_draft(world.patient.user, patient=world.patient, recipients=recipients)
    assert err.value.code == "bad_request"
    assert not Draft.objects.exists()


def test_thread_and_patient_must_agree(world):
    first = patient_question(world)
    with pytest.raises(MessagingError):
        drafts.save_draft(world.patient.user, thread=first.thread, patient=world.other_patient)


def test_blocked_author_cannot_save(world):
    with pytest.raises(MessagingError) as err:
        drafts.save_draft(world.blocked_patient.user, patient=world.blocked_patient, body="x")
    assert err.value.code == "not_allowed"


# -- addressing ----------------------------------------------------------------------------------


def test_addressable_patient_by_role(world):
    assert (
        drafts.addressable_patient(viewer_for(world.patient.user), world.patient.uuid)
        == world.patient
    )
    assert (
        drafts.addressable_patient(viewer_for(world.rep.user), str(world.patient.uuid))
        == world.patient
    )
    assert (
        drafts.addressable_patient(viewer_for(world.staff2.user), world.patient.uuid)
        == world.patient
    )
    refused = [
        (viewer_for(world.expired_rep.user), world.patient.uuid),
        (viewer_for(world.other_patient.user), world.patient.uuid),
        (viewer_for(world.outsider.user), world.patient.uuid),
        (viewer_for(world.c1.user), world.outside_patient.uuid),
        (viewer_for(world.c1.user), uuid.uuid4()),
        (viewer_for(world.c1.user), "garbage"),
        (viewer_for(None), world.patient.uuid),
    ]
    for viewer, target in refused:
        with pytest.raises(MessagingError) as err:
            drafts.addressable_patient(viewer, target)
        assert err.value.code == "patient_not_allowed"


def test_practice_reaches_patients_seen_at_the_organisation(world):
    # A patient managed elsewhere but seen at Riverside is Riverside's patient too.
    from support.world import visit

    visit(world.outside_patient, world.c1, world.org)
    viewer = viewer_for(world.c2.user)
    assert drafts.addressable_patient(viewer, world.outside_patient.uuid) == world.outside_patient


def test_named_lookups_refuse_unknown_uuids_like_forbidden_ones(world):
    assert drafts.practitioners_named([world.c1.uuid, str(world.c1.uuid)]) == [world.c1]
    with pytest.raises(MessagingError) as err:
        drafts.practitioners_named([world.c1.uuid, uuid.uuid4()])
    assert err.value.code == "recipient_not_allowed"
    with pytest.raises(MessagingError) as err:
        drafts.pool_named(uuid.uuid4())
    assert err.value.code == "recipient_not_allowed"
    assert drafts.pool_named(world.refills.uuid) == world.refills
    with pytest.raises(MessagingError) as err:
        drafts.organization_named(viewer_for(world.c1.user), world.other_org.uuid)
    assert err.value.code == "not_allowed"
    assert drafts.organization_named(viewer_for(world.c1.user), world.org.uuid) == world.org
    with pytest.raises(MessagingError) as err:
        drafts.on_behalf_named(uuid.uuid4())
    assert err.value.code == "on_behalf_not_allowed"
    assert drafts.pool_named(None) is None and drafts.on_behalf_named(None) is None

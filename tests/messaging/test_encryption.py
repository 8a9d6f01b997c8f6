"""Message content at rest: encrypted, bound to its row and field, rotated online."""

from __future__ import annotations

import pytest
from django.db import connection

from carethread.audit.models import AuditEvent
from carethread.crypto import rotation
from carethread.crypto.aead import IntegrityFailure, envelope_key_id
from carethread.messaging import actions
from carethread.messaging.models import Message, Thread

SUBJECT = "Rash after the new cream"
BODY = "The rash on my left arm got worse since Tuesday."


def _send(world, subject=SUBJECT, body=BODY):
    return actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="medical",
        subject=subject,
        body=body,
        to_practitioners=[world.c1],
    )


def _raw(table: str, column: str, pk: int) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return bytes(cursor.fetchone()[0])


def test_subject_and_body_are_not_stored_in_clear(world):
    message = _send(world)
    body = _raw("messaging_message", "body_ct", message.pk)
    subject = _raw("messaging_thread", "subject_ct", message.thread_id)
    assert BODY.encode() not in body and b"rash" not in body.lower()
    assert SUBJECT.encode() not in subject
    assert envelope_key_id(body)  # an envelope with its key id


def test_body_moved_to_another_message_fails_and_is_audited(world):
    first = _send(world)
    second = _send(world, subject="Other", body="Another question")
    Message.objects.filter(pk=second.pk).update(body_ct=first.body_ct)
    second.refresh_from_db()
    with pytest.raises(IntegrityFailure):
        second.unseal("body_ct")
    assert AuditEvent.objects.filter(action="crypto.integrity_failure").exists()


def test_body_moved_to_the_subject_field_fails(world):
    message = _send(world)
    Thread.objects.filter(pk=message.thread_id).update(subject_ct=message.body_ct)
    thread = Thread.objects.get(pk=message.thread_id)
    with pytest.raises(IntegrityFailure):
        thread.unseal("subject_ct")


def test_key_rotation_reencrypts_messages_and_keeps_them_readable(world):
    message = _send(world)
    old_key = envelope_key_id(_raw("messaging_message", "body_ct", message.pk))
    report = rotation.rotate(batch_size=2)
    assert report.counts()
    message.refresh_from_db()
    assert envelope_key_id(bytes(message.body_ct)) != old_key
    assert message.unseal("body_ct") == BODY
    assert Thread.objects.get(pk=message.thread_id).unseal("subject_ct") == SUBJECT

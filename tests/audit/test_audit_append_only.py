"""Audit rows cannot be changed or removed: not through the ORM, not with raw SQL."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from carethread.audit.models import AppendOnlyError, AuditChainHead, AuditEvent

pytestmark = pytest.mark.django_db


def test_model_refuses_save_of_an_existing_row(make_entries):
    event = make_entries(1)[0]
    event.action = "test.other"
    with pytest.raises(AppendOnlyError):
        event.save()
    fresh = AuditEvent.objects.get(pk=event.pk)
    fresh.outcome = "failure"
    with pytest.raises(AppendOnlyError):
        fresh.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_model_refuses_delete(make_entries):
    event = make_entries(1)[0]
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize(
    "operation",
    [
        lambda qs: qs.update(action="test.other"),
        lambda qs: qs.delete(),
        lambda qs: qs.filter(seq=1).delete(),
        lambda qs: qs.bulk_update(list(qs), ["action"]),
        lambda qs: qs.bulk_create([AuditEvent(seq=99, action="test.x")]),
    ],
    ids=["update", "delete", "filtered-delete", "bulk_update", "bulk_create"],
)
def test_queryset_refuses_bulk_changes(make_entries, operation):
    make_entries(2)
    with pytest.raises(AppendOnlyError):
        operation(AuditEvent.objects.all())
    assert list(AuditEvent.objects.values_list("seq", "action")) == [
        (1, "test.event"),
        (2, "test.event"),
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET action = 'test.other' WHERE seq = 1",
        "UPDATE audit_auditevent SET hash = prev_hash",
        "DELETE FROM audit_auditevent WHERE seq = 2",
        "DELETE FROM audit_auditevent",
    ],
)
def test_database_refuses_raw_update_and_delete(make_entries, tamper, sql):
    make_entries(2)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        tamper.raw(sql)
    assert tamper.fetch("SELECT seq, action FROM audit_auditevent ORDER BY seq") == [
        (1, "test.event"),
        (2, "test.event"),
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditchainhead SET last_seq = 1",  # backwards
        "UPDATE audit_auditchainhead SET last_seq = 3",  # to an entry that does not exist
        "UPDATE audit_auditchainhead SET last_hash = 'x'",  # not moving forward
        "DELETE FROM audit_auditchainhead",
    ],
)
def test_database_guards_the_chain_head(make_entries, tamper, sql):
    make_entries(2)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        tamper.raw(sql)
    head = AuditChainHead.objects.get(pk=1)
    assert head.last_seq == 2


def test_with_triggers_off_raw_sql_gets_through(make_entries, tamper):
    """The DBA path the verify tests rely on: once triggers are gone, only the chain remains."""
    make_entries(2)
    with tamper.triggers_off():
        tamper.raw("UPDATE audit_auditevent SET action = 'test.other' WHERE seq = 1")
    assert AuditEvent.objects.get(seq=1).action == "test.other"
    # and the triggers are back afterwards
    with pytest.raises(IntegrityError), transaction.atomic():
        tamper.raw("DELETE FROM audit_auditevent WHERE seq = 2")

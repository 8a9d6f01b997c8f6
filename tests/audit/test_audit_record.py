"""record(): the chain it writes, the elements of an entry, and what it refuses."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from carethread.audit import codes, keys
from carethread.audit.actions import AuditChainError, append_entries, record
from carethread.audit.chain import GENESIS_HASH, entry_hash
from carethread.audit.models import AuditChainHead, AuditEvent
from carethread.audit.verify import verify_chain

pytestmark = pytest.mark.django_db


def test_entries_form_a_chain_and_move_the_head(make_entries):
    events = make_entries(3)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_seq, head.last_hash) == (3, events[2].hash)


def test_stored_entry_hashes_to_its_hash_after_a_round_trip():
    record("test.event", details={"count": 3, "ratio": 0.25, "whole": 2.0, "big": 1e20})
    stored = AuditEvent.objects.get()
    fields = {name: getattr(stored, name) for name in ("seq", "occurred_at", "actor_id")}
    fields.update(
        {
            name: getattr(stored, name)
            for name in (
                "actor_label",
                "actor_role",
                "patient_id",
                "action",
                "object_type",
                "object_id",
                "outcome",
                "source_address",
                "details",
                "key_id",
            )
        }
    )
    assert stored.key_id == keys.current()[0]
    assert entry_hash(stored.prev_hash, fields, keys.by_id(stored.key_id)) == stored.hash
    assert verify_chain().ok


def test_entry_elements(rf):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("clin@example.org")
    request = rf.get("/", REMOTE_ADDR="203.0.113.9")
    event = record(
        codes.AUTH_LOGIN,
        actor=user,
        request=request,
        patient=42,
        object_type="core.thing",
        object_id="abc",
        details={"method": "password"},
    )
    event.refresh_from_db()
    assert event.occurred_at.utcoffset() == dt.timedelta(0)
    assert abs(event.occurred_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    assert event.actor_id == user.pk
    assert event.actor_label == str(user.uuid)
    assert event.actor_role == "user"
    assert event.patient_id == 42
    assert (event.action, event.object_type, event.object_id) == ("auth.login", "core.thing", "abc")
    assert event.outcome == "success"
    assert event.source_address == "203.0.113.9"
    assert event.details == {"method": "password"}


def test_system_actor_and_named_operator():
    assert record("test.event").actor_label == "system"
    event = record("test.event", actor_label="cli:ops", actor_role="operator")
    assert (event.actor_label, event.actor_role, event.actor_id) == ("cli:ops", "operator", None)


@pytest.mark.parametrize("action", ["Login", "login", "auth login", "auth.", "AUTH.LOGIN"])
def test_action_must_be_a_dotted_lowercase_code(action):
    with pytest.raises(ValueError, match="dotted lowercase"):
        record(action)
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "details",
    [
        {"note": "Patient Jane Doe called about her chest pain " * 3},
        {"when": dt.date(1980, 1, 1)},
        {"nan": float("nan")},
    ],
)
def test_details_refuse_free_text_and_objects(details):
    with pytest.raises(ValueError):
        record("test.event", details=details)
    assert not AuditEvent.objects.exists()


def test_outcome_is_checked():
    with pytest.raises(ValueError):
        record("test.event", outcome="maybe")
    assert record("test.event", outcome="failure").outcome == "failure"


def test_entry_is_written_in_the_callers_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        record("test.event")
        raise RuntimeError("the change fails")
    assert not AuditEvent.objects.exists()
    assert record("test.event").seq == 1  # the rolled back entry left no gap


def test_missing_head_with_entries_fails_closed(make_entries, tamper):
    make_entries(2)
    with tamper.triggers_off():
        tamper.raw("DELETE FROM audit_auditchainhead")
    with pytest.raises(AuditChainError):
        record("test.event")
    assert AuditEvent.objects.count() == 2


def test_append_entries_builds_the_same_chain(make_entries):
    make_entries(2)
    now = dt.datetime.now(dt.UTC)
    base = {
        "occurred_at": now,
        "actor_id": None,
        "actor_label": "system",
        "actor_role": "system",
        "patient_id": None,
        "action": "test.bulk",
        "object_type": "",
        "object_id": "",
        "outcome": "success",
        "source_address": "",
    }
    assert append_entries(({**base, "details": {"i": i}} for i in range(5)), batch_size=2) == 5
    record("test.event")
    result = verify_chain()
    assert result.ok, result.problem
    assert result.entries == 8

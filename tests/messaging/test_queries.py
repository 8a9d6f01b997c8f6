"""Inbox lists and the thread view."""

from __future__ import annotations

from carethread.messaging import actions, queries
from carethread.messaging.access import access_thread, viewer_for


def _start(world, **kw):
    return actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category=kw.pop("category", "medical"),
        subject=kw.pop("subject", "Dose question"),
        body="Morning or evening?",
        to_practitioners=[world.c1],
        **kw,
    )


def test_inbox_lists_newest_first_with_unread(world):
    a = _start(world, subject="First")
    b = _start(world, subject="Second")
    rows = queries.inbox(viewer_for(world.c1.user))
    assert [r.subject for r in rows] == ["Second", "First"]
    assert [r.unread for r in rows] == [1, 1]
    assert {r.thread.pk for r in rows} == {a.thread_id, b.thread_id}
    assert queries.unread_total(viewer_for(world.c1.user)) == 2
    assert queries.inbox(viewer_for(world.other_patient.user)) == []


def test_expired_representative_loses_inbox_rows(world):
    _start(world)
    assert len(queries.inbox(viewer_for(world.rep.user))) == 1
    assert queries.inbox(viewer_for(world.expired_rep.user)) == []


def test_thread_view_labels_and_hides_retracted_from_patient(world):
    first = actions.start_thread(
        world.rep.user,
        patient=world.patient,
        category="refill",
        subject="Refill",
        body="Please renew",
        to_practitioners=[world.c1],
    )
    actions.retract(world.rep.user, first)
    thread, viewer = access_thread(world.c1.user, first.thread.uuid)
    view = queries.thread_view(thread, viewer)
    assert view.messages[0].sender_label == "Jane Doe on behalf of Pat Lopez"
    assert view.messages[0].body == "Please renew"  # the practice still sees what was retracted
    thread, viewer = access_thread(world.patient.user, first.thread.uuid)
    assert queries.thread_view(thread, viewer).messages[0].body is None


def test_pool_box_needs_membership(world):
    actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="refill",
        subject="Refill",
        body="Please renew",
        to_pool=world.refills,
    )
    refills = queries.InboxFilter(box="pool", pool=world.refills.uuid)
    assert len(queries.inbox(viewer_for(world.staff.user), refills)) == 1
    assert queries.inbox(viewer_for(world.c2.user), refills) == []


def test_malformed_uuid_is_the_same_404(world):
    import pytest
    from django.http import Http404

    for bad in ("not-a-uuid", "", "1234"):
        with pytest.raises(Http404):
            access_thread(world.patient.user, bad)

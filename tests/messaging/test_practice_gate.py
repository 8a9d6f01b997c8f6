"""The practice side's gate (``access_practice_thread``) and the question it asks
(``on_practice_side``), as the clinician taking part, a colleague, the patient, representatives and
outsider (the patient's question to c1 from tests/conftest.py: c1 takes part, c2 does not); the
API, the pages and the workflow actions all answer through it."""

from __future__ import annotations

import uuid

import pytest
from django.http import Http404
from support.world import client_of

from carethread.messaging import workflow
from carethread.messaging.access import (
    access_practice_thread,
    access_thread,
    on_practice_side,
    viewer_for,
)
from carethread.messaging.errors import MessagingError

pytestmark = pytest.mark.django_db


def opens(user, thread):
    try:
        found, viewer = access_practice_thread(user, thread.uuid)
    except Http404:
        return False
    assert found.pk == thread.pk and viewer.user == user
    return True


def test_the_practice_user_taking_part_is_let_in(world, thread):
    assert opens(world.c1.user, thread)
    found, viewer = access_thread(world.c1.user, thread.uuid)
    assert on_practice_side(viewer, found)


@pytest.mark.parametrize("who", ["patient", "rep", "outsider", "c2", "expired_rep"])
def test_everyone_else_gets_the_404_of_a_missing_thread(world, thread, who):
    user = getattr(world, who).user
    assert not opens(user, thread)
    with pytest.raises(Http404):
        access_practice_thread(user, uuid.uuid4())


def test_a_patient_who_may_open_the_thread_is_not_on_its_practice_side(world, thread):
    found, viewer = access_thread(world.patient.user, thread.uuid)
    assert not on_practice_side(viewer, found)


@pytest.mark.parametrize("value", ["not-a-uuid", "", "81482f14-a976-452e-b959-5b8eb2ba5d25"])
def test_a_malformed_or_unknown_id_is_404(world, value):
    with pytest.raises(Http404):
        access_practice_thread(world.c1.user, value)


def test_anonymous_is_404(world, thread):
    from django.contrib.auth.models import AnonymousUser

    assert not opens(AnonymousUser(), thread)
    assert not opens(None, thread)


def test_the_gate_reuses_the_callers_viewer_and_asks_nothing_more(
    world, thread, django_assert_num_queries
):
    viewer = viewer_for(world.c1.user)
    with django_assert_num_queries(1):
        found, same = access_practice_thread(world.c1.user, thread.uuid, viewer=viewer)
    assert same is viewer
    with django_assert_num_queries(0):
        assert on_practice_side(viewer, found)


def test_a_workflow_action_handed_a_thread_refuses_the_patient_side(world, thread):
    found, viewer = access_thread(world.patient.user, thread.uuid)
    with pytest.raises(MessagingError) as refused:
        workflow.claim(world.patient.user, found, viewer=viewer)
    assert refused.value.code == "not_allowed"
    with pytest.raises(MessagingError):
        workflow.practice_viewer(world.outsider.user, thread)
    assert workflow.practice_viewer(world.c1.user, thread).practitioner == world.c1


@pytest.mark.parametrize(
    ("who", "status"), [("c1", 200), ("patient", 404), ("rep", 404), ("outsider", 404)]
)
def test_the_api_and_the_page_answer_through_the_same_gate(world, thread, who, status):
    client = client_of(getattr(world, who).user)
    notes = client.post(
        f"/api/threads/{thread.uuid}/notes",
        {"body": "Checked the chart."},
        content_type="application/json",
    )
    assert notes.status_code == (201 if status == 200 else 404)
    page = client.post(f"/messages/{thread.uuid}/claim")
    assert page.status_code == (302 if status == 200 else 404)

"""Emergency access ("break the glass", 170.315(d)(6)): a practice user holding the right opens a
patient's threads outside their usual rights after stating a reason, read-only, for the
practice's set time; each view is audited as emergency access; the free text goes to the
report only; without the right, or after the end, everything is the same 404 as before."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone
from support.reauth import freshly_signed_in as fresh
from support.world import make_admin, patient_question

from carethread.audit import codes
from carethread.audit.models import AuditEvent
from carethread.core.models import Membership
from carethread.messaging import queries
from carethread.messaging.access import access_thread, viewer_for
from carethread.messaging.models import EmergencyAccess, Message, ThreadMember
from carethread.notifications.models import Notification

pytestmark = pytest.mark.django_db

PAGE = "/practice/emergency-access"
REPORT = "/practice/emergency-access/report"
SECRET = "Found collapsed in the car park, on warfarin"


def grant_right(practitioner, *, right: bool = True) -> None:
    Membership.objects.filter(practitioner=practitioner).update(emergency_access=right)


@pytest.fixture
def thread(world):
    """The patient's question to c1: staff2 (staff at Riverside, in no pool) has no right."""
    return patient_question(world, subject="Chest pain last night", body="It came back.").thread


@pytest.fixture
def glass(world):
    """staff2, holding the emergency-access right, signed in a moment ago."""
    grant_right(world.staff2)
    return fresh(world.staff2.user)


def start(client: Client, world, **fields) -> object:
    data = {
        "organization": str(world.org.uuid),
        "mrn": "RFM-1001",
        "reason": "patient-safety",
        "explanation": SECRET,
        **fields,
    }
    return client.post(PAGE, data)


def viewed_reports():
    return AuditEvent.objects.filter(action=codes.AUDIT_REPORT, details__report="emergency")


def thread_url(thread) -> str:
    return f"/messages/{thread.uuid}/"


def test_emergency_access_opens_the_thread_read_only_audited_until_it_ends(world, thread, glass):
    user = world.staff2.user
    assert glass.get(thread_url(thread)).status_code == 404
    assert glass.get(f"/api/threads/{thread.uuid}").status_code == 404

    assert f'href="{PAGE}"' in glass.get("/messages/").content.decode()
    assert glass.get(PAGE).status_code == 200
    response = start(glass, world)
    assert response.status_code == 302 and response["Location"] == PAGE
    grant = EmergencyAccess.objects.get(user=user)
    assert grant.ends_at - grant.started_at == dt.timedelta(minutes=60)
    listing = glass.get(PAGE).content.decode()
    assert "Chest pain last night" in listing and "Running now" in listing

    page = glass.get(thread_url(thread))
    assert page.status_code == 200
    html = page.content.decode()
    assert "It came back." in html and "read-only" in html
    assert "Send reply" not in html and "Internal note" not in html
    assert 'class="emergency-banner"' in html
    api = glass.get(f"/api/threads/{thread.uuid}")
    assert api.status_code == 200
    assert api.json()["can_reply"] is False and api.json()["reason"] == "emergency_read_only"

    views = AuditEvent.objects.filter(action=codes.EMERGENCY_THREAD_VIEW, actor_id=user.pk)
    assert views.count() == 2
    for event in views:
        assert event.details == {"emergency_access": str(grant.uuid)}
        assert event.patient_id == world.patient.pk and event.object_id == str(thread.uuid)
    assert not AuditEvent.objects.filter(action=codes.THREAD_VIEW, actor_id=user.pk).exists()
    # Read-only: no inbox row (which would outlast the access), no read receipt, no reply.
    assert not ThreadMember.objects.filter(thread=thread, user=user).exists()
    assert not Message.objects.filter(thread=thread, first_read_at__isnull=False).exists()
    reply = glass.post(
        f"/api/threads/{thread.uuid}/messages", {"body": "Hi"}, content_type="application/json"
    )
    assert reply.status_code in (403, 404)
    assert glass.post(f"/api/threads/{thread.uuid}/claim").status_code == 404
    # Lists are the gate: the patient's box and "all" list it, the own inbox does not.
    viewer = viewer_for(user)
    listed = queries.inbox(viewer, queries.InboxFilter(box="patient", patient=world.patient.uuid))
    assert [row.thread.pk for row in listed] == [thread.pk]
    assert thread.pk in {r.thread.pk for r in queries.inbox(viewer, queries.InboxFilter("all"))}
    assert queries.inbox(viewer) == []
    listed_api = glass.get("/api/threads", {"box": "all"}).json()["threads"]
    assert str(thread.uuid) in {t["uuid"] for t in listed_api}
    patient_page = glass.get(f"/patients/{world.patient.uuid}/messages").content.decode()
    assert "Chest pain last night" in patient_page

    EmergencyAccess.objects.filter(pk=grant.pk).update(ends_at=timezone.now())
    assert glass.get(thread_url(thread)).status_code == 404
    assert glass.get(f"/api/threads/{thread.uuid}").status_code == 404
    assert 'class="emergency-banner"' not in glass.get("/messages/").content.decode()
    assert queries.inbox(viewer_for(user), queries.InboxFilter("all")) == []


def test_ending_early_closes_the_access_and_is_audited(world, thread, glass):
    start(glass, world)
    grant = EmergencyAccess.objects.get()
    response = glass.post(f"{PAGE}/end", {"access": str(grant.uuid)})
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.ended_at is not None
    assert AuditEvent.objects.filter(action=codes.EMERGENCY_END, object_id=str(grant.uuid)).exists()
    assert glass.get(thread_url(thread)).status_code == 404
    # Someone else's access, or one already ended: the same 404.
    assert glass.post(f"{PAGE}/end", {"access": str(grant.uuid)}).status_code == 404


def test_the_right_belongs_to_the_membership(world, thread, glass):
    start(glass, world)
    with pytest.raises(Exception):  # noqa: B017 - Http404
        access_thread(world.staff.user, thread.uuid)
    Membership.objects.filter(practitioner=world.staff2).update(emergency_access=False)
    assert glass.get(thread_url(thread)).status_code == 404


def test_without_the_right_the_page_is_a_404(world, thread):
    make_admin(world)  # an administrator holds no such right by being one
    assert f'href="{PAGE}"' not in fresh(world.c1.user).get("/messages/").content.decode()
    for practitioner in (world.staff2, world.c1, world.outsider):
        client = fresh(practitioner.user)
        assert client.get(PAGE).status_code == 404
        assert start(client, world).status_code == 404
    patient = fresh(world.patient.user)
    assert patient.get(PAGE).status_code == 404
    assert Client().get(PAGE).status_code == 302  # to sign in
    assert not EmergencyAccess.objects.exists()


def test_starting_needs_a_fresh_reauthentication(world, thread):
    grant_right(world.staff2)
    client = Client()
    client.force_login(world.staff2.user)
    response = start(client, world)
    assert response.status_code == 302 and "reauthenticate" in response["Location"]
    assert not EmergencyAccess.objects.exists()


def test_the_free_text_stays_out_of_audit_notifications_and_logs(world, thread, glass, caplog):
    with caplog.at_level(logging.DEBUG):
        start(glass, world)
        glass.get(thread_url(thread))
        glass.get(f"/api/threads/{thread.uuid}")
    grant = EmergencyAccess.objects.get()
    assert SECRET.encode() not in bytes(grant.explanation_ct)
    assert grant.unseal("explanation_ct") == SECRET
    for event in AuditEvent.objects.all():
        assert "collapsed" not in json.dumps(event.details), event.action
    started = AuditEvent.objects.get(action=codes.EMERGENCY_START)
    assert started.details["reason"] == "patient-safety"
    for notification in Notification.objects.all():
        assert "collapsed" not in json.dumps(notification.__dict__, default=str)
    assert "collapsed" not in caplog.text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"reason": ""}, "reason", "This field is required."),
        ({"reason": "other", "explanation": "  "}, "explanation", "needs an explanation"),
        ({"mrn": "RFM-9999"}, "mrn", "No patient of this practice matches"),
        ({"mrn": "HP-2001"}, "mrn", "No patient of this practice matches"),  # another practice's
        ({"mrn": ""}, "mrn", "MRN, or their family name and date of birth"),
        ({"mrn": "", "family_name": "Lopez", "birth_date": "1999-01-01"}, "family_name", "No p"),
        ({"reason": "because"}, "reason", "Select a valid choice"),
    ],
)
def test_bad_input_is_refused_beside_the_field(world, thread, glass, fields, field, message):
    response = start(glass, world, **fields)
    assert response.status_code == 400
    form = response.context["form"]
    assert any(message in error for error in form.errors[field]), form.errors
    assert SECRET in response.content.decode() or "explanation" in fields
    assert not EmergencyAccess.objects.exists()
    assert not AuditEvent.objects.filter(action=codes.EMERGENCY_START).exists()


def test_a_patient_is_found_by_name_and_date_of_birth(world, thread, glass):
    response = start(glass, world, mrn="", family_name="lopez", birth_date="1980-01-02")
    assert response.status_code == 302
    assert EmergencyAccess.objects.get().patient == world.patient


def test_a_second_start_while_running_is_refused(world, thread, glass):
    start(glass, world)
    response = start(glass, world)
    assert response.status_code == 400
    assert "already have emergency access" in response.content.decode()
    assert EmergencyAccess.objects.count() == 1


def test_the_report_lists_each_use_for_admins_and_auditors(world, thread, glass):
    start(glass, world, reason="other")
    glass.get(thread_url(thread))
    glass.get(thread_url(thread))
    assert glass.get(REPORT).status_code == 404  # the emergency user is neither
    make_admin(world)
    Membership.objects.filter(practitioner=world.c2).update(is_auditor=True)
    for practitioner in (world.c1, world.c2):
        page = fresh(practitioner.user).get(REPORT)
        assert page.status_code == 200
        html = page.content.decode()
        assert SECRET in html and "Other (explain below)" in html
        assert "Nguyen" in html and "Lopez" in html and "2 views" in html
    assert fresh(world.outsider.user).get(REPORT).status_code == 404
    assert fresh(world.staff.user).get(REPORT).status_code == 404
    viewed = AuditEvent.objects.filter(action=codes.AUDIT_REPORT, details__report="emergency")
    assert viewed.count() == 2
    assert (
        fresh(world.c1.user).get(REPORT, {"start": "2020-02-01", "end": "2020-01-01"}).status_code
        == 400
    )


def test_the_command_writes_the_emergency_report(world, thread, glass):
    start(glass, world)
    glass.get(thread_url(thread))
    out = io.StringIO()
    call_command("audit", "report", "--emergency", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("access,started_at")
    assert len(lines) == 2
    assert SECRET in lines[1] and str(thread.uuid) in lines[1] and "RFM-1001" in lines[1]
    out = io.StringIO()
    call_command("audit", "report", "--emergency", "--patient", "RFM-1002", stdout=out)
    assert len(out.getvalue().strip().splitlines()) == 1
    with pytest.raises(CommandError) as exc:
        call_command("audit", "report", "--emergency", "--action", "auth.login")
    assert exc.value.returncode == 2
    assert AuditEvent.objects.filter(
        action=codes.AUDIT_REPORT, details__report="emergency"
    ).exists()


def test_a_download_under_emergency_access_names_it(world, glass):
    from carethread.messaging import attachments

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    upload = attachments.upload_attachment(world.patient.user, filename="rash.png", data=png)
    patient_question(world, attachments=[upload.uuid])
    start(glass, world)
    grant = EmergencyAccess.objects.get()
    assert glass.get(f"/messages/attachments/{upload.uuid}").status_code == 200
    event = AuditEvent.objects.get(action=codes.ATTACHMENT_DOWNLOAD)
    assert event.details["emergency_access"] == str(grant.uuid)


def test_the_duration_is_the_practices_setting(world, glass):
    world.org.emergency_access_minutes = 15
    world.org.save(update_fields=["emergency_access_minutes"])
    start(glass, world)
    grant = EmergencyAccess.objects.get()
    assert grant.ends_at - grant.started_at == dt.timedelta(minutes=15)
    event = AuditEvent.objects.get(action=codes.EMERGENCY_START)
    assert event.details["minutes"] == 15 and event.object_id == str(grant.uuid)

"""`carethread demo` seeds a working practice and every printed login signs in."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from carethread.audit.models import AuditEvent
from carethread.core.models import CareTeamPool, Encounter, Organization, Patient
from carethread.web import demo

pytestmark = pytest.mark.django_db


def _run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_demo_seeds_once_and_prints_every_login():
    first = _run_demo()
    counts = (Organization.objects.count(), Patient.objects.count(), Encounter.objects.count())
    second = _run_demo()
    assert (
        Organization.objects.count(),
        Patient.objects.count(),
        Encounter.objects.count(),
    ) == counts
    assert counts[0] == 2 and counts[1] == len(demo.PATIENTS) and counts[2] > len(demo.PATIENTS)
    assert CareTeamPool.objects.filter(members__isnull=False).distinct().count() == 2
    for output in (first, second):
        assert demo.DEMO_PASSWORD in output
        for login in demo.LOGINS:
            assert login.email in output
    assert "already present" in second


@pytest.mark.parametrize("login", demo.LOGINS, ids=lambda login: login.email)
def test_each_printed_login_works(client, login):
    _run_demo()
    response = client.post(
        reverse("account_login"), {"login": login.email, "password": demo.DEMO_PASSWORD}
    )
    assert response.status_code == 302
    home = client.get("/")
    if login.kind == "practice":
        # Practice users must set up an authenticator app before anything else.
        assert home.status_code == 302
        assert home["Location"] == reverse("mfa_activate_totp")
    else:
        assert home.status_code == 200
        expected = "People you represent" if login.kind == "representative" else "Your care"
        assert expected in home.content.decode()
    assert AuditEvent.objects.filter(action="auth.login", actor_id__isnull=False).exists()


def test_printed_enrolment_code_enrols_the_patient(client):
    output = _run_demo()
    code = re.search(r"invitation code (\S+);", output).group(1)
    response = client.post(reverse("enrol"), {"code": code})
    assert response.status_code == 302
    response = client.post(
        response["Location"],
        {
            "birth_date": "1986-09-30",
            "email": "olivia.brown@example.com",
            "password1": "a-long-enough-pass-phrase",
            "password2": "a-long-enough-pass-phrase",
        },
    )
    assert response.status_code == 302
    assert Patient.objects.get(mrn="RFM-1005").user is not None


DEMO_INBOXES = {
    "maria.lopez@example.com": {
        "Blood pressure readings",
        "Second opinion on medication",
        "Refill request",
    },
    "robert.smith@example.com": {"Knee still swollen", "Your lab results"},
    "jane.doe@example.com": {"Sam's cough"},
    "ana.rivera@riverside.example.org": {
        "Blood pressure readings",
        "Knee still swollen",
        "Second opinion on medication",
        "Refill request",
        "Your lab results",
    },
    "ben.chen@riverside.example.org": {"Second opinion on medication"},
    "grace.okafor@riverside.example.org": {"Refill request", "Your lab results"},
}


def test_demo_logins_see_their_message_threads():
    from django.contrib.auth import get_user_model

    from carethread.messaging import queries
    from carethread.messaging.access import access_thread, viewer_for
    from carethread.messaging.models import Message, Thread

    _run_demo()
    assert set(DEMO_INBOXES) == {login.email for login in demo.LOGINS}
    for email, subjects in DEMO_INBOXES.items():
        user = get_user_model().objects.get(email=email)
        rows = queries.inbox(viewer_for(user), queries.InboxFilter(box="mine"))
        assert {row.subject for row in rows} == subjects, email
        for row in rows:
            access_thread(user, row.thread.uuid)
    by_subject = {t.unseal("subject_ct"): t for t in Thread.objects.all()}
    assert by_subject["Knee still swollen"].awaiting_reply_since is not None  # unanswered
    assert by_subject["Blood pressure readings"].awaiting_reply_since is None  # answered
    proxy = Message.objects.get(thread=by_subject["Sam's cough"], sender_kind="representative")
    assert proxy.sender_representative.email == "jane.doe@example.com"
    staff = Message.objects.get(thread=by_subject["Your lab results"], on_behalf_of__isnull=False)
    assert (staff.sender_practitioner.family_name, staff.on_behalf_of.family_name) == (
        "Okafor",
        "Rivera",
    )
    clinical = by_subject["Second opinion on medication"]
    assert (clinical.kind, clinical.includes_patient) == ("clinical", True)
    assert by_subject["Refill request"].pool.name == "Refills"
    # The pools made by the demo are the ones the messages address (no duplicates).
    assert CareTeamPool.objects.count() == 2
    assert CareTeamPool.objects.get(name="Refills").description == "Prescription refill requests"

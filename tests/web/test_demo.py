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

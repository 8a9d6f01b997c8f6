"""``carethread setup``: the first organisation and its first administrator, by flags or by
prompts; a second run changes nothing; bad input writes nothing (exit 2); the administrator is
taken through TOTP enrolment at the first sign-in; the audit entry."""

from __future__ import annotations

import io

import pytest
from accounts_helpers import PASSWORD, has_totp, login, secret_from_page, totp_code
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from carethread.accounts.management.commands.setup import Command as SetupCommand
from carethread.accounts.models import User
from carethread.audit.models import AuditEvent
from carethread.core.models import Membership, Organization, Practitioner

pytestmark = pytest.mark.django_db

NPI = "1234567893"
FLAGS = {
    "tin": "27-1234567",
    "name": "Riverside Family Medicine",
    "admin_email": "Ana.Rivera@Riverside.example.org",
    "admin_given_name": "Ana",
    "admin_family_name": "Rivera",
    "admin_role": "clinician",
    "admin_npi": NPI,
}


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n", encoding="utf-8")
    return path


def run(**options):
    """Run the command; (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("setup", stdout=out, stderr=err, **options)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def written() -> tuple[int, int, int, int, int]:
    return (
        Organization.objects.count(),
        Practitioner.objects.count(),
        Membership.objects.count(),
        User.objects.count(),
        AuditEvent.objects.count(),
    )


def test_flags_create_the_organisation_and_its_administrator(password_file):
    status, out, _ = run(no_input=True, password_file=password_file, **FLAGS)
    assert status == 0
    org = Organization.objects.get()
    assert (org.tin, org.name) == ("271234567", "Riverside Family Medicine")
    user = User.objects.get()
    assert user.email == "ana.rivera@riverside.example.org" and user.check_password(PASSWORD)
    assert not user.is_staff and not user.is_superuser
    membership = Membership.objects.get()
    assert membership.organization == org and membership.is_admin and membership.active
    assert membership.role == "clinician"
    practitioner = membership.practitioner
    assert practitioner.user == user and practitioner.npi == NPI
    assert (practitioner.given_name, practitioner.family_name) == ("Ana", "Rivera")
    assert "Riverside Family Medicine (TIN 271234567)" in out
    assert "America/New_York" in out
    assert "carethread serve" in out


def test_the_password_may_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CARETHREAD_SETUP_PASSWORD", PASSWORD)
    flags = {**FLAGS, "admin_role": "staff", "admin_npi": None}
    assert run(no_input=True, **flags)[0] == 0
    membership = Membership.objects.get()
    assert membership.role == "staff" and membership.practitioner.npi is None
    assert membership.practitioner.user.check_password(PASSWORD)


@pytest.mark.parametrize("flag", ["--password", "--pass", "--password-f"])
def test_the_password_is_never_a_flag(flag):
    parser = SetupCommand().create_parser("carethread", "setup")
    with pytest.raises(CommandError, match="unrecognized arguments"):
        parser.parse_args(["--no-input", flag, PASSWORD])


def test_interactive_asks_for_every_value_and_the_password_twice(monkeypatch):
    answers = iter(
        [
            "12345",  # a bad TIN is asked again
            "271234567",
            "Riverside Family Medicine",
            "ana@riverside.example.org",
            "Ana",
            "Rivera",
            "nurse",  # not a role: asked again
            "staff",
            "",  # no NPI
        ]
    )
    passwords = iter(["short", PASSWORD, "something else entirely", PASSWORD, PASSWORD])
    asked: list[str] = []

    def fake_input(prompt=""):
        asked.append(prompt)
        return next(answers)

    monkeypatch.setattr("builtins.input", fake_input)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(passwords))
    status, _, err = run()
    assert status == 0
    assert "9-digit" in err and "clinician or staff" in err
    assert "too short" in err and "differ" in err
    assert len(asked) == 9
    user = User.objects.get(email="ana@riverside.example.org")
    assert user.check_password(PASSWORD)
    assert user.practitioner.memberships.get().role == "staff"
    assert next(passwords, None) is None  # asked twice for the accepted one


def test_interactive_uses_the_flags_given_and_asks_for_the_rest(monkeypatch):
    answers = iter(["Rivera", "clinician", NPI])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    flags = {key: FLAGS[key] for key in ("tin", "name", "admin_email", "admin_given_name")}
    assert run(**flags)[0] == 0
    assert Practitioner.objects.get().npi == NPI


def test_interactive_without_answers_exits_2_and_writes_nothing(monkeypatch):
    def no_input(prompt=""):
        raise EOFError

    monkeypatch.setattr("builtins.input", no_input)
    before = written()
    status, _, err = run()
    assert status == 2 and "--tin" in err
    assert written() == before


def test_a_second_run_changes_nothing_and_says_what_exists(password_file):
    assert run(no_input=True, password_file=password_file, **FLAGS)[0] == 0
    before = written()
    other = {**FLAGS, "tin": "271234568", "admin_email": "someone@else.example.org"}
    status, out, _ = run(no_input=True, password_file=password_file, **other)
    assert status == 0
    assert written() == before
    assert "already set up" in out
    assert "Riverside Family Medicine (TIN 271234567)" in out
    assert "Administrators with a login: 1" in out
    # Without any flag too: nothing is asked.
    assert run(no_input=True)[0] == 0 and written() == before


def test_an_imported_organisation_and_practitioner_are_used(org, password_file):
    imported = Practitioner.objects.create(npi=NPI, family_name="Rivera", given_name="Ana")
    flags = {**FLAGS, "name": "Another name"}
    status, out, _ = run(no_input=True, password_file=password_file, **flags)
    assert status == 0 and "imported organisation" in out
    assert Organization.objects.get().name == "Riverside Family Medicine"
    imported.refresh_from_db()
    assert imported.user.email == "ana.rivera@riverside.example.org"
    assert imported.memberships.get(organization=org).is_admin


BAD = [
    ({"tin": "12345678"}, "--tin", "9-digit"),
    ({"tin": "000000000"}, "--tin", "9-digit"),
    ({"name": "  "}, "--name", "Enter the practice's name"),
    ({"name": "Riverside\x00"}, "--name", "control characters"),
    ({"admin_email": "not-an-address"}, "--admin-email", "not an email address"),
    ({"admin_family_name": ""}, "--admin-family-name", "Enter the administrator's family name"),
    ({"admin_family_name": None}, "--admin-family-name", "missing"),
    ({"admin_role": "doctor"}, "--admin-role", "clinician or staff"),
    ({"admin_npi": "1234567890"}, "--admin-npi", "not a valid NPI"),
    ({"admin_npi": "12345"}, "--admin-npi", "not a valid NPI"),
]


@pytest.mark.parametrize(("change", "flag", "words"), BAD)
def test_bad_input_exits_2_naming_the_flag_and_writes_nothing(password_file, change, flag, words):
    flags = {**FLAGS, **change}
    before = written()
    status, _, err = run(no_input=True, password_file=password_file, **flags)
    assert status == 2
    assert flag in err and words in err and "nothing was written" in err
    assert written() == before


def test_a_weak_password_exits_2(tmp_path):
    path = tmp_path / "password"
    path.write_text("password\n", encoding="utf-8")
    status, _, err = run(no_input=True, password_file=path, **FLAGS)
    assert status == 2 and "password" in err and "too common" in err
    assert written() == (0, 0, 0, 0, 0)


def test_a_missing_password_exits_2(monkeypatch, tmp_path):
    monkeypatch.delenv("CARETHREAD_SETUP_PASSWORD", raising=False)
    status, _, err = run(no_input=True, **FLAGS)
    assert status == 2 and "CARETHREAD_SETUP_PASSWORD" in err
    status, _, err = run(no_input=True, password_file=tmp_path / "nowhere", **FLAGS)
    assert status == 2 and "cannot be read" in err
    assert written() == (0, 0, 0, 0, 0)


def test_an_email_that_has_a_login_exits_2(password_file, patient_user):
    before = written()
    status, _, err = run(no_input=True, password_file=password_file, admin_email=patient_user.email)
    assert status == 2 and "already has a login" in err
    assert written() == before


def test_an_npi_of_a_practitioner_with_a_login_exits_2(org, password_file, admin_user):
    Practitioner.objects.filter(pk=admin_user.practitioner.pk).update(npi=NPI)
    Membership.objects.filter(practitioner=admin_user.practitioner).update(active=False)
    before = written()
    status, _, err = run(no_input=True, password_file=password_file, **FLAGS)
    assert status == 2 and "--admin-npi" in err and "already has a login" in err
    assert written() == before


def test_another_time_zone_is_refused(password_file):
    status, _, err = run(
        no_input=True, password_file=password_file, time_zone="Europe/Paris", **FLAGS
    )
    assert status == 2
    assert "CARETHREAD_TIME_ZONE" in err and "carethread serve" in err
    assert "carethread worker" in err
    assert written() == (0, 0, 0, 0, 0)
    assert (
        run(no_input=True, password_file=password_file, time_zone="America/New_York", **FLAGS)[0]
        == 0
    )


@override_settings(TIME_ZONE="America/Chicago")
def test_the_installation_time_zone_is_shown(password_file):
    status, out, _ = run(no_input=True, password_file=password_file, **FLAGS)
    assert status == 0 and "America/Chicago" in out


def test_the_setup_is_audited(password_file):
    assert run(no_input=True, password_file=password_file, **FLAGS)[0] == 0
    org, user = Organization.objects.get(), User.objects.get()
    event = AuditEvent.objects.get(action="practice.set_up")
    assert event.actor_role == "operator" and event.actor_label.startswith("cli:")
    assert event.object_id == str(org.uuid)
    assert event.details == {
        "organization": "created",
        "practitioner": "created",
        "admin": str(user.uuid),
        "role": "clinician",
    }
    assert AuditEvent.objects.filter(action="user.created", object_id=str(user.uuid)).exists()
    assert PASSWORD not in str(list(AuditEvent.objects.values()))


def test_the_administrator_sets_up_totp_before_anything_else(
    password_file, django_capture_on_commit_callbacks
):
    assert run(no_input=True, password_file=password_file, **FLAGS)[0] == 0
    user = User.objects.get()
    client = Client()
    response = login(client, user.email)
    assert response.status_code == 302
    for path in ("/", "/practice/portal-access", "/messages/", "/account/api-tokens"):
        refused = client.get(path)
        assert refused.status_code == 302, path
        assert refused["Location"] == "/accounts/2fa/totp/activate/", path
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    secret = secret_from_page(page.content.decode())
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert done.status_code == 302 and has_totp(user)
    assert client.get("/practice/portal-access").status_code == 200

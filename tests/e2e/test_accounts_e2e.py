"""Sign-in, forced TOTP enrolment and invitation enrolment in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from support.people import maria_lopez

from carethread.accounts import actions
from carethread.core.models import Membership, Practitioner

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-42"


@pytest.fixture
def patient(org):
    return maria_lopez(org)


def sign_in(page, email, password=PASSWORD):
    page.goto("/")
    expect(page).to_have_url("/accounts/login/?next=/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Sign in").click()


def test_practice_user_is_taken_through_totp_enrolment(page, org, totp):
    practitioner = Practitioner.objects.create(family_name="Rivera", given_name="Ana")
    Membership.objects.create(practitioner=practitioner, organization=org, role="clinician")
    actions.create_user("ana.rivera@example.org", PASSWORD, practitioner=practitioner)

    sign_in(page, "ana.rivera@example.org")
    expect(page).to_have_url("/accounts/2fa/totp/activate/")
    expect(page.get_by_role("heading", name="Activate Authenticator App")).to_be_visible()
    secret = page.input_value("#authenticator_secret")
    assert len(secret) >= 16
    page.fill("input[name=code]", totp(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page).to_have_url("/accounts/2fa/recovery-codes/")
    codes = page.locator("#recovery_codes").inner_text().split()
    assert len(codes) == 10
    page.click("#continue")
    expect(page).to_have_url("/")
    expect(page.get_by_role("heading", name="Practice")).to_be_visible()
    expect(page.get_by_text("Clinician at")).to_be_visible()
    assert page.csp_errors == []


def test_patient_signs_in_and_reaches_home(page, patient):
    actions.create_user(patient.email, PASSWORD, patient=patient)
    sign_in(page, patient.email)
    expect(page).to_have_url("/")
    expect(page.get_by_role("heading", name="Your care")).to_be_visible()
    assert page.csp_errors == []


def test_wrong_password_shows_a_generic_error(page, patient):
    actions.create_user(patient.email, PASSWORD, patient=patient)
    sign_in(page, patient.email, "not-the-password-1")
    expect(page.get_by_text("are not correct")).to_be_visible()


def test_patient_enrols_through_an_invitation_link(page, patient):
    _invitation, token, _code = actions.create_invitation(patient, send_email=False)
    page.goto(f"/enrol/{token}")
    expect(page).to_have_url("/enrol/verify")
    page.fill("input[name=birth_date]", "1980-01-01")
    page.fill("input[name=email]", "maria.portal@example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_text("does not match our records")).to_be_visible()

    page.fill("input[name=birth_date]", "1979-04-12")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Enrol").click()
    expect(page).to_have_url("/enrol/welcome")
    expect(page.get_by_role("heading", name="You are enrolled")).to_be_visible()
    page.get_by_role("link", name="Continue to your inbox").click()
    expect(page.get_by_role("heading", name="Your care")).to_be_visible()
    patient.refresh_from_db()
    assert patient.user is not None and patient.user.email == "maria.portal@example.com"
    assert page.csp_errors == []

"""From ``carethread setup`` to the administration index in a real browser: the new
administrator signs in, is taken through TOTP enrolment, finds "Administration" in the top bar
and its index; the 404 page is the product's. At 1280 px and 390 px: nothing scrolls sideways,
axe-core finds no serious or critical violation, the Content Security Policy refuses nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from e2e.test_messaging_e2e import new_page, no_sideways_scroll, serious_axe_violations
from playwright.sync_api import expect
from support.browser import SHOTS
from support.people import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
EMAIL = "ana.rivera@riverside.example.org"
WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


@pytest.fixture
def set_up(monkeypatch):
    monkeypatch.setenv("CARETHREAD_SETUP_PASSWORD", PASSWORD)
    call_command(
        "setup",
        "--no-input",
        "--tin=271234567",
        "--name=Riverside Family Medicine",
        f"--admin-email={EMAIL}",
        "--admin-given-name=Ana",
        "--admin-family-name=Rivera",
        "--admin-role=clinician",
        "--admin-npi=1234567893",
        stdout=io.StringIO(),
    )


def test_the_first_administrator_enrols_and_reaches_administration(
    browser, live_server, set_up, totp
):
    page = new_page(browser, live_server, viewport=WIDTHS["desktop"])
    page.goto("/")
    page.fill("input[name=login]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url("/accounts/2fa/totp/activate/")
    page.goto("/practice/")  # nothing else before the authenticator app
    expect(page).to_have_url("/accounts/2fa/totp/activate/")
    page.fill("input[name=code]", totp(page.input_value("#authenticator_secret")))
    page.get_by_role("button", name="Activate").click()
    expect(page).to_have_url("/accounts/2fa/recovery-codes/")
    page.click("#continue")
    page.get_by_role("link", name="Administration").click()
    expect(page).to_have_url("/practice/")
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()
    expect(page.get_by_role("link", name="Patients' portal access")).to_be_visible()
    signed_in = page.context.storage_state()
    page.context.close()
    for name, viewport in WIDTHS.items():
        page = new_page(browser, live_server, viewport=viewport, storage_state=signed_in)
        for path, label in (("/practice/", "admin-index"), ("/no-such-page", "404")):
            response = page.goto(path)
            assert response.status == (404 if label == "404" else 200), path
            assert no_sideways_scroll(page), (path, name)
            shot(page, f"{label}-{name}.png")
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        assert page.csp_errors == []
        page.context.close()
    # axe is injected as a script tag, which the page's own policy would refuse.
    page = new_page(browser, live_server, storage_state=signed_in, bypass_csp=True)
    for path in ("/practice/", "/no-such-page"):
        page.goto(path)
        assert serious_axe_violations(page) == [], path
    page.context.close()

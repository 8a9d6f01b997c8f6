"""The people pages in a real browser, on a desktop (1280 px) and a phone (390 px): an
administrator signed in with TOTP adds a nurse by NPI and email (an invalid NPI first: the
message beside the field, the values kept), sees the invitation "sent"; the worker emails it to
a real SMTP server; the nurse follows the link, chooses a password, sets up TOTP and reaches the
inbox. Nothing scrolls sideways, the Content Security Policy refuses nothing, and axe-core finds
no serious or critical violation on the pages."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from e2e.test_messaging_e2e import (
    new_page,
    no_sideways_scroll,
    serious_axe_violations,
    sign_in,
    totp_secret,
)
from e2e.test_settings_e2e import SCREENS, SHOTS
from playwright.sync_api import expect
from support.world import make_admin

from carethread.accounts.models import User
from carethread.core.models import Membership

pytestmark = pytest.mark.django_db(transaction=True)
NPI = "1245319599"
NURSE_EMAIL = "nora.nurse@riverside.example.org"
NURSE_PASSWORD = "a-long-nurse-passphrase-7"
LINK = re.compile(r"https?://[^/\s]+(/practice/join/[0-9a-f]{20,})")


def shot(page, name: str, width: str) -> None:
    assert no_sideways_scroll(page), name
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"people-{name}-{width}.png"), full_page=True)


def add_the_nurse(page, world, width: str) -> None:
    page.goto(f"/practice/{world.org.uuid}/people")
    expect(page.get_by_role("heading", name=f"People of {world.org.name}")).to_be_visible()
    shot(page, "list", width)
    page.get_by_role("link", name="Add a person").click()
    page.get_by_label("Role").select_option(label="Staff")
    page.get_by_label("NPI").fill("1234567890")
    page.get_by_label("Email address").fill(NURSE_EMAIL)
    page.get_by_label("Given name").fill("Nora")
    page.get_by_label("Family name").fill("Nurse")
    page.get_by_role("button", name="Add and invite").click()
    expect(page.get_by_text("This is not a valid NPI")).to_be_visible()
    expect(page.get_by_label("Family name")).to_have_value("Nurse")
    shot(page, "add-error", width)
    page.get_by_label("NPI").fill(NPI)
    page.get_by_role("button", name="Add and invite").click()
    expect(page.get_by_text("Added. The invitation was sent.")).to_be_visible()
    expect(page.get_by_role("heading", name="Nora Nurse")).to_be_visible()
    shot(page, "person", width)
    page.get_by_role("link", name="Invitations", exact=True).click()
    row = page.locator("#invitations tbody tr", has_text="Nora Nurse")
    expect(row.locator(".invitation-state")).to_have_text("sent")
    shot(page, "invitations", width)


def nurse_joins(browser, live_server, link: str, totp, width: str) -> None:
    page = new_page(browser, live_server, **SCREENS[width])
    page.goto(link)
    expect(page).to_have_url("/practice/join")
    expect(page.get_by_text(NURSE_EMAIL)).to_be_visible()
    shot(page, "join", width)
    page.get_by_label("Choose a password").fill(NURSE_PASSWORD)
    page.get_by_label("Password again").fill(NURSE_PASSWORD)
    page.get_by_role("button", name="Create my login").click()
    expect(page).to_have_url("/accounts/2fa/totp/activate/")
    secret = page.input_value("#authenticator_secret")
    page.fill("input[name=code]", totp(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page).to_have_url("/accounts/2fa/recovery-codes/")
    page.click("#continue")
    page.goto("/messages/")
    expect(page).to_have_url("/messages/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.csp_errors == []
    page.context.close()


@pytest.mark.parametrize("width", sorted(SCREENS))
def test_admin_adds_a_nurse_who_joins_with_totp(
    browser, live_server, world, totp, smtp_server, width
):
    make_admin(world)
    page = new_page(browser, live_server, **SCREENS[width])
    secret = totp_secret(world.c1.user)
    sign_in(page, world.c1.user.email, totp_code=lambda: totp(secret))
    add_the_nurse(page, world, width)
    assert page.csp_errors == []
    signed_in = page.context.storage_state()
    page.context.close()

    call_command("worker", "--once", stdout=open(os.devnull, "w"))  # noqa: SIM115
    (mail,) = smtp_server.messages
    assert mail.envelope_rcpt == [NURSE_EMAIL]
    nurse_joins(browser, live_server, LINK.search(mail.get_content())[1], totp, width)
    nurse = User.objects.get(email=NURSE_EMAIL)
    assert Membership.objects.get(practitioner=nurse.practitioner).organization == world.org

    # axe is injected as a script tag, which the page's own policy would refuse.
    page = new_page(
        browser, live_server, storage_state=signed_in, bypass_csp=True, **SCREENS[width]
    )
    membership = Membership.objects.get(practitioner=nurse.practitioner)
    base = f"/practice/{world.org.uuid}"
    for path in (
        f"{base}/people",
        f"{base}/people/add",
        f"{base}/people/{membership.uuid}",
        f"{base}/invitations",
    ):
        page.goto(path)
        assert serious_axe_violations(page) == [], path
        assert no_sideways_scroll(page), path
    expect(page.locator("#invitations .invitation-state").first).to_have_text("used")
    page.goto(f"{base}/people/add")
    page.get_by_label("NPI").fill("12")
    page.get_by_role("button", name="Add and invite").click()
    assert serious_axe_violations(page) == [], "add with errors"
    page.context.close()

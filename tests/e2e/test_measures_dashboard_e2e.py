"""The measure dashboard in a real browser: a practice administrator (signed in with TOTP) asks
for a report with the form, opens a row's patients and the monthly chart; axe-core finds no
serious or critical violation on these pages, nothing scrolls sideways on a phone, and the
Content Security Policy refuses nothing."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone
from e2e.test_messaging_e2e import (
    PHONE,
    new_page,
    no_sideways_scroll,
    serious_axe_violations,
    sign_in,
    totp_secret,
)
from playwright.sync_api import expect
from support.browser import SHOTS
from support.world import answered_question, build_world, make_admin, patient, visit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    w = build_world()
    make_admin(w)
    answered_question(w)
    w.green = patient(w.org, "RFM-1005", "Green", "green@example.com")
    visit(w.green, w.c1, w.org, location=w.office)
    return w


def report_path(path: str) -> str:
    today = timezone.localdate()
    start = today - dt.timedelta(days=180)
    return (
        f"{path}?program=pi-2018&start={start}&end={today}&actors=clinician&halo=false"
        "&exclude_pos=21%2C23&window=period"
    )


def admin_page(browser, live_server, world, totp, **options):
    page = new_page(browser, live_server, **options)
    secret = totp_secret(world.c1.user)
    sign_in(page, world.c1.user.email, totp_code=lambda: totp(secret))
    return page


def test_admin_asks_for_a_report_and_opens_the_gap(browser, live_server, world, totp):
    page = admin_page(browser, live_server, world, totp)
    page.get_by_role("link", name="Secure messaging measure dashboard").click()
    expect(page.get_by_role("heading", name="Secure messaging measure")).to_be_visible()
    today = timezone.localdate()
    page.get_by_label("First day").fill(str(today - dt.timedelta(days=180)))
    page.get_by_label("Last day").fill(str(today))
    page.get_by_role("button", name="Show the report").click()
    expect(page.get_by_role("table", name=re.compile("Results"))).to_be_visible()
    expect(page.get_by_text("Message 1 more patient for 4 points")).to_be_visible()
    page.get_by_role("link", name=re.compile("3 in the gap")).click()
    expect(page.get_by_role("heading", name="Not in the numerator: 3 patients")).to_be_visible()
    expect(page.get_by_text("MRN RFM-1005")).to_be_visible()
    page.get_by_role("button", name=re.compile("Message these patients")).click()
    expect(page.get_by_role("heading", name="Message these patients")).to_be_visible()
    expect(page.get_by_label("Pat Green (MRN RFM-1005)")).to_be_checked()
    assert "RFM-" not in page.url
    assert page.csp_errors == []
    page.context.close()


def test_dashboard_pages_have_no_serious_accessibility_violations(
    browser, live_server, world, totp
):
    # axe is injected as a script tag, which the page's own policy would refuse.
    page = admin_page(browser, live_server, world, totp, bypass_csp=True)
    for path in ("/practice/measures", "/practice/measures/trend"):
        page.goto(report_path(path) if path.endswith("trend") else path)
        assert serious_axe_violations(page) == [], path
    page.goto(report_path("/practice/measures"))
    assert serious_axe_violations(page) == [], "results"
    page.get_by_role("link", name=re.compile("in the gap")).first.click()
    expect(page.get_by_role("heading", name="Patients and gaps")).to_be_visible()
    assert serious_axe_violations(page) == [], "patients"
    page.get_by_role("button", name=re.compile("Message these patients")).click()
    assert serious_axe_violations(page) == [], "outreach"
    page.get_by_label("Category").select_option(label="Other")
    page.get_by_label("Subject").fill("Checking in")
    page.get_by_label("Message", exact=True).fill("Hello {nickname}")  # not a placeholder
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    assert serious_axe_violations(page) == [], "outreach with errors"
    page.get_by_label("Message", exact=True).fill("Hello {patient_first_name}")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Check and send")).to_be_visible()
    assert serious_axe_violations(page) == [], "outreach preview"
    page.context.close()


def test_dashboard_pages_fit_a_phone_screen(browser, live_server, world, totp):
    page = admin_page(
        browser, live_server, world, totp, viewport=PHONE, is_mobile=True, has_touch=True
    )
    page.goto(report_path("/practice/measures"))
    assert no_sideways_scroll(page), "results"
    # The link sits in the table's last column, which scrolls inside its own box.
    page.goto(page.get_by_role("link", name=re.compile("in the gap")).first.get_attribute("href"))
    expect(page.get_by_role("heading", name="Patients and gaps")).to_be_visible()
    assert no_sideways_scroll(page), "patients"
    page.get_by_role("button", name=re.compile("Message these patients")).click()
    expect(page.get_by_role("heading", name="Message these patients")).to_be_visible()
    assert no_sideways_scroll(page), "outreach"
    page.goto(report_path("/practice/measures/trend"))
    assert no_sideways_scroll(page), "trend"
    assert page.csp_errors == []
    page.context.close()


def test_admin_reads_notification_delivery_on_a_phone(browser, live_server, world, totp):
    page = admin_page(browser, live_server, world, totp, viewport=PHONE)
    page.get_by_role("link", name="Email notification delivery").click()
    expect(page).to_have_url(re.compile(r"/practice/notifications$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert no_sideways_scroll(page)
    assert page.csp_errors == []
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "notification-delivery-phone.png"), full_page=True)
    signed_in = page.context.storage_state()
    page.context.close()
    # axe is injected as a script tag, which the page's own policy would refuse.
    page = new_page(browser, live_server, storage_state=signed_in, bypass_csp=True)
    page.goto("/practice/notifications")
    assert serious_axe_violations(page) == []

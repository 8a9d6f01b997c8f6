"""Emergency access in a real browser, on a desktop (1280 px) and a phone (390 px): a staff member
holding the right, signed in with TOTP, cannot open a patient's conversation, starts emergency
access with a reason, sees the banner, opens the conversation read-only, and an administrator
finds the use in the emergency-access report. On each page: no sideways scrolling, no refusal by
the Content Security Policy, no serious or critical axe-core violation."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e import test_messaging_e2e as browsing
from playwright.sync_api import expect
from support.browser import SCREENS, SHOTS
from support.world import PASSWORD, build_world, make_admin, patient_question

from carethread.audit import codes
from carethread.audit.models import AuditEvent
from carethread.core.models import Membership

pytestmark = pytest.mark.django_db(transaction=True)
REASON_TEXT = "Unconscious in the waiting room; her clinician is away"


@pytest.fixture
def world():
    w = build_world()
    make_admin(w)
    Membership.objects.filter(practitioner=w.staff2).update(emergency_access=True)
    w.thread = patient_question(w, subject="Chest pain last night").thread
    return w


def axe_clean(browser, live_server, page, paths: list[str], width: str) -> None:
    """axe-core on ``paths``, signed in as ``page``'s user (its script needs the CSP bypassed)."""
    checker = browsing.new_page(
        browser,
        live_server,
        storage_state=page.context.storage_state(),
        bypass_csp=True,
        **SCREENS[width],
    )
    for path in paths:
        checker.goto(path)
        assert browsing.serious_axe_violations(checker) == [], path
    checker.context.close()


def shot(page, name: str, width: str) -> None:
    assert browsing.no_sideways_scroll(page), name
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"emergency-{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", sorted(SCREENS))
def test_staff_breaks_the_glass_and_the_admin_sees_it_reported(
    browser, live_server, world, totp, width
):
    page = browsing.new_page(browser, live_server, **SCREENS[width])
    secret = browsing.totp_secret(world.staff2.user)
    browsing.sign_in(page, world.staff2.user.email, totp_code=lambda: totp(secret))
    response = page.goto(f"/messages/{world.thread.uuid}/")
    assert response is not None and response.status == 404

    page.goto("/practice/emergency-access")
    # A fresh re-authentication first; the page follows.
    expect(page).to_have_url("/accounts/reauthenticate/?next=%2Fpractice%2Femergency-access")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Emergency access", exact=True)).to_be_visible()
    page.get_by_role("button", name="Start emergency access").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    page.get_by_label("Patient's MRN").fill("RFM-1001")
    page.get_by_label("Reason").select_option(label="Other (explain below)")
    page.get_by_role("button", name="Start emergency access").click()
    expect(page.get_by_role("alert")).to_contain_text("needs an explanation")
    expect(page.get_by_label("Patient's MRN")).to_have_value("RFM-1001")
    page.get_by_label("Explanation", exact=False).fill(REASON_TEXT)
    page.get_by_role("button", name="Start emergency access").click()
    banner = page.get_by_role("region", name="Emergency access running")
    expect(banner).to_contain_text("Lopez")
    shot(page, "access", width)

    thread_path = f"/messages/{world.thread.uuid}/"
    page.get_by_role("link", name="Chest pain last night").click()
    expect(page.get_by_role("heading", name="Chest pain last night")).to_be_visible()
    expect(page.get_by_text("Opened with emergency access: read-only")).to_be_visible()
    expect(page.get_by_role("region", name="Emergency access running")).to_be_visible()
    expect(page.get_by_role("button", name="Send reply")).to_have_count(0)
    shot(page, "thread", width)
    assert AuditEvent.objects.filter(action=codes.EMERGENCY_THREAD_VIEW).count() == 1
    assert page.evaluate("() => location.pathname") == thread_path
    assert page.csp_errors == []
    axe_clean(browser, live_server, page, ["/practice/emergency-access", thread_path], width)

    page.get_by_role("region", name="Emergency access running").get_by_role(
        "button", name="End emergency access"
    ).click()
    expect(page.get_by_role("region", name="Emergency access running")).to_have_count(0)

    admin = browsing.new_page(browser, live_server, **SCREENS[width])
    admin_secret = browsing.totp_secret(world.c1.user)
    browsing.sign_in(admin, world.c1.user.email, totp_code=lambda: totp(admin_secret))
    admin.goto("/practice/emergency-access/report")
    table = admin.get_by_role("list", name="Uses of emergency access, newest first")
    expect(table).to_contain_text(REASON_TEXT)
    expect(table).to_contain_text("2 views")  # the page, then the accessibility check
    shot(admin, "report", width)
    assert admin.csp_errors == []
    axe_clean(browser, live_server, admin, ["/practice/emergency-access/report"], width)
    admin.context.close()
    page.context.close()

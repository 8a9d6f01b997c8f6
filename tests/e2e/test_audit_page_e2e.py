"""The audit report page in a real browser, on a desktop (1280 px) and a phone (390 px): an
auditor signed in with TOTP opens /practice/audit, filters by a patient picked from the list,
sorts by a column, has the chain checked ("Verify now") and sees it verified. The page never
scrolls sideways (the wide table scrolls inside its own region), the Content Security Policy
refuses nothing, and axe-core finds no serious or critical violation."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e.test_messaging_e2e import (
    new_page,
    no_sideways_scroll,
    serious_axe_violations,
    sign_in,
    totp_secret,
)
from playwright.sync_api import expect
from support.browser import SCREENS, SHOTS
from support.world import build_world

from carethread.audit import codes
from carethread.audit.actions import record
from carethread.core.models import Membership

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    """c2 audits Riverside; a few events of its people and patients."""
    w = build_world()
    Membership.objects.filter(practitioner=w.c2, organization=w.org).update(is_auditor=True)
    for _ in range(3):
        record(codes.THREAD_VIEW, actor=w.c1.user, patient=w.patient, object_id="thread")
        record(codes.MESSAGE_READ, actor=w.patient.user, patient=w.patient)
    record(codes.AUTH_LOGIN_FAILED, actor=w.staff.user, outcome="failure")
    return w


def shot(page, name: str, width: str) -> None:
    assert no_sideways_scroll(page), name
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"audit-{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", sorted(SCREENS))
def test_auditor_filters_sorts_and_verifies(browser, live_server, world, totp, width):
    page = new_page(browser, live_server, **SCREENS[width])
    secret = totp_secret(world.c2.user)
    sign_in(page, world.c2.user.email, totp_code=lambda: totp(secret))
    page.goto("/practice/audit")
    expect(page.get_by_role("heading", name="Audit report")).to_be_visible()
    expect(page.locator("[data-chain-state=unchecked]")).to_be_visible()
    shot(page, "report", width)

    page.get_by_label("Patient").select_option(label="Lopez, Pat (RFM-1001)")
    page.get_by_role("button", name="Show").click()
    rows = page.locator(".audit-table tbody tr")
    expect(rows.first).to_contain_text("Pat Lopez")
    page.get_by_role("link", name="Action").click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Action")
    shot(page, "filtered", width)

    page.get_by_role("button", name="Verify now").click()
    expect(page.locator("[data-chain-state=verified]")).to_be_visible()
    assert page.csp_errors == []
    signed_in = page.context.storage_state()
    page.context.close()

    # axe is injected as a script tag, which the page's own policy would refuse.
    page = new_page(
        browser, live_server, storage_state=signed_in, bypass_csp=True, **SCREENS[width]
    )
    for path in ("/practice/audit", "/practice/audit?address=nonsense"):
        page.goto(path)
        assert serious_axe_violations(page) == [], path
        assert no_sideways_scroll(page), path
    page.context.close()

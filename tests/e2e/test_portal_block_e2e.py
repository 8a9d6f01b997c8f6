"""Blocking a patient's portal access in a real browser, on a desktop (1280 px) and a phone
(390 px): the reason starts empty, "Block" asks for the password again and leads to a
confirmation page naming the patient and the reason, and only "Block portal access" there blocks
the login. Nothing scrolls sideways and axe-core finds no serious or critical violation on the
confirmation page."""

from __future__ import annotations

import pytest
from e2e import test_messaging_e2e as steps
from e2e.test_settings_e2e import SHOTS, world  # noqa: F401  (an admin's practice)
from playwright.sync_api import expect
from support.browser import SCREENS
from support.world import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("width", sorted(SCREENS))
def test_admin_confirms_a_block(browser, live_server, world, totp, width):  # noqa: F811
    page = steps.new_page(browser, live_server, bypass_csp=True, **SCREENS[width])
    secret = steps.totp_secret(world.c1.user)
    steps.sign_in(page, world.c1.user.email, totp_code=lambda: totp(secret))
    page.goto("/practice/portal-access")
    select = page.locator(f"#reason-{world.patient.uuid}")
    expect(select).to_have_value("")
    select.select_option("misuse")
    select.locator("xpath=ancestor::form").get_by_role("button", name="Block").click()
    # Blocking asks for a fresh re-authentication first; the change resumes after it.
    expect(page.get_by_role("heading", name="Confirm Access")).to_be_visible()
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Block portal access?")).to_be_visible()
    expect(page.locator("#block-who")).to_contain_text(world.patient.display_name)
    expect(page.locator("#block-reason")).to_have_text("Misuse of messaging")
    assert steps.no_sideways_scroll(page)
    assert steps.serious_axe_violations(page) == []
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/portal-block-confirm-{width}.png", full_page=True)
    world.patient.user.refresh_from_db()
    assert not world.patient.user.is_blocked
    page.get_by_role("button", name="Block portal access").click()
    expect(page.get_by_text("Portal access blocked.")).to_be_visible()
    world.patient.user.refresh_from_db()
    assert world.patient.user.is_blocked

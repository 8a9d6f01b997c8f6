"""The practice settings pages in a real browser, on a desktop (1280 px) and a phone (390 px): an
administrator signed in with TOTP changes the reply window, creates a pool, adds a member and
sends a category to it with a routing rule. Nothing scrolls sideways, the Content Security
Policy refuses nothing, and axe-core finds no serious or critical violation on the pages."""

from __future__ import annotations

import re
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
from support.world import build_world, make_admin

from carethread.core.models import CareTeamPool, Organization
from carethread.messaging.models import RoutingRule

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world():
    w = build_world()
    make_admin(w)
    return w


def shot(page, name: str, width: str) -> None:
    assert no_sideways_scroll(page), name
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"settings-{name}-{width}.png"), full_page=True)


def section(page, name: str) -> None:
    """Open one of the practice's settings pages from the settings navigation."""
    nav = page.get_by_role("navigation", name=re.compile("^Settings of "))
    nav.get_by_role("link", name=name, exact=True).click()


@pytest.mark.parametrize("width", sorted(SCREENS))
def test_admin_sets_the_reply_window_a_pool_a_member_and_a_rule(
    browser, live_server, world, totp, width
):
    page = new_page(browser, live_server, **SCREENS[width])
    secret = totp_secret(world.c1.user)
    sign_in(page, world.c1.user.email, totp_code=lambda: totp(secret))
    page.goto("/practice/settings")
    page.get_by_role("link", name=world.org.name).click()
    expect(page.get_by_role("heading", name="Practice profile")).to_be_visible()
    assert str(world.org.uuid) in page.url and "RFM-" not in page.url

    section(page, "Messaging")
    page.get_by_label("Reply window (days)").fill("400")
    page.get_by_role("button", name="Save messaging settings").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    expect(page.get_by_label("Reply window (days)")).to_have_value("400")
    page.get_by_label("Reply window (days)").fill("21")
    page.get_by_role("button", name="Save messaging settings").click()
    expect(page.get_by_text("The messaging settings were saved.")).to_be_visible()
    assert Organization.objects.get(pk=world.org.pk).reply_window_days == 21
    shot(page, "messaging", width)

    section(page, "Pools")
    page.get_by_label("Pool name").fill("Nurses")
    page.get_by_role("button", name="Create pool").click()
    expect(page.get_by_role("heading", name="Pool: Nurses")).to_be_visible()
    page.get_by_label("Practice user").select_option(label=world.staff2.display_name)
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("The member was added.")).to_be_visible()
    pool = CareTeamPool.objects.get(organization=world.org, name="Nurses")
    assert list(pool.members.all()) == [world.staff2]
    shot(page, "pool", width)

    section(page, "Routing")
    page.get_by_label("Category").select_option(label="Prescription refill")
    page.get_by_label("Send to pool").select_option(label="Nurses")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_text("The routing rule was saved.")).to_be_visible()
    expect(page.locator("tr[data-category=refill]")).to_contain_text("Nurses")
    assert RoutingRule.objects.get(organization=world.org, category="refill").pool == pool
    shot(page, "routing", width)

    section(page, "Templates")
    expect(page.get_by_role("heading", name="Templates", exact=True)).to_be_visible()
    shot(page, "templates", width)
    assert page.csp_errors == []
    signed_in = page.context.storage_state()
    page.context.close()

    # axe is injected as a script tag, which the page's own policy would refuse.
    page = new_page(
        browser, live_server, storage_state=signed_in, bypass_csp=True, **SCREENS[width]
    )
    base = f"/practice/{world.org.uuid}"
    for path in (
        "/practice/settings",
        f"{base}/settings",
        f"{base}/locations",
        f"{base}/locations/{world.office.uuid}",
        f"{base}/settings/messaging",
        f"{base}/pools",
        f"{base}/pools/{pool.uuid}",
        f"{base}/routing",
        f"{base}/templates",
    ):
        page.goto(path)
        assert serious_axe_violations(page) == [], path
        assert no_sideways_scroll(page), path
    page.goto(f"{base}/pools")
    page.get_by_label("Pool name").fill("nurses")
    page.get_by_role("button", name="Create pool").click()
    expect(page.get_by_role("alert")).to_contain_text("already exists")
    assert serious_axe_violations(page) == [], "pool name taken"
    page.context.close()

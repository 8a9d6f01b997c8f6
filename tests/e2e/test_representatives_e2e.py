"""A patient sees who can read their messages and ends a proxy's access, in a real browser."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from support.browser import SHOTS
from support.people import maria_lopez, riverside

from carethread.accounts import actions
from carethread.core.models import Representative

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-42"


def shot(page, name):
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


@pytest.fixture
def patient():
    patient = maria_lopez(riverside())
    actions.create_user(patient.email, PASSWORD, patient=patient)
    return patient


@pytest.mark.parametrize("width", [1280, 390])
def test_patient_ends_a_proxys_access(page, patient, width):
    rep = Representative.objects.create(
        patient=patient,
        family_name="Lopez",
        given_name="Carlos",
        email="carlos.lopez@example.com",
        relationship="SPS",
        valid_from=timezone.now() - dt.timedelta(days=30),
        consent_given_at=timezone.now() - dt.timedelta(days=30),
    )
    actions.create_user(rep.email, PASSWORD, representatives=[rep])
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/")
    page.fill("input[name=login]", patient.email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Who can see my messages").click()
    expect(page.get_by_role("heading", name="Who can see your messages")).to_be_visible()
    row = page.get_by_role("row", name="Carlos Lopez")
    expect(row).to_contain_text("has access")
    shot(page, f"representatives-{width}.png")
    row.get_by_role("link", name="End access").click()
    shot(page, f"representative-revoke-{width}.png")
    page.get_by_role("button", name="End access").click()
    expect(page.get_by_text("Nobody else can see your messages.")).to_be_visible()
    rep.refresh_from_db()
    assert not rep.is_valid_at(timezone.now())
    assert page.csp_errors == []

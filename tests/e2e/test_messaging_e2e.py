"""Messaging in a real browser: a patient writes, the clinician (signed in with TOTP) reads and
replies, the patient sees the reply and the read receipt. Plus axe-core on the inbox, compose and
thread pages, and a phone-size check that nothing scrolls sideways."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from playwright.sync_api import expect
from support.browser import new_page as browser_page
from support.world import PASSWORD

from carethread.messaging import actions

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
PHONE = {"width": 375, "height": 667}
SUBJECT = "Dizzy after the new tablets"
BODY = "Since Monday I feel dizzy when I stand up. Is that the new medicine?"
REPLY = "Thank you for telling us. Please check your blood pressure twice a day."


def totp_secret(user) -> str:
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return get_adapter().decrypt(authenticator.data["secret"])


def new_page(browser, live_server, **options):
    return browser_page(browser, live_server.url, **options)


def sign_in(page, email: str, totp_code=None) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if totp_code is not None:
        expect(page).to_have_url("/accounts/2fa/authenticate/")
        page.fill("input[name=code]", totp_code())
        page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url("/")


def serious_axe_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def no_sideways_scroll(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth"
        " && document.body.scrollWidth <= window.innerWidth"
    )


def test_patient_writes_clinician_replies_patient_sees_reply_and_receipt(
    browser, live_server, world, totp
):
    patient = new_page(browser, live_server)
    sign_in(patient, world.patient.user.email)
    patient.get_by_role("link", name="Go to your messages").click()
    expect(patient.get_by_role("heading", name="Messages", exact=True)).to_be_visible()
    patient.get_by_role("link", name="New message").click()
    expect(patient).to_have_url("/messages/new")
    # The notice is on screen before anything is sent.
    expect(
        patient.get_by_role("heading", name="Messaging is not for emergencies — call 911")
    ).to_be_visible()
    expect(
        patient.get_by_text("Riverside Family Medicine replies within 3 business days")
    ).to_be_visible()
    patient.get_by_label("To", exact=True).select_option(
        label="Dr Rivera, Riverside Family Medicine"
    )
    patient.get_by_label("What is it about?").select_option(label="Medical question")
    patient.get_by_label("Subject", exact=True).fill(SUBJECT)
    patient.get_by_label("Message", exact=True).fill(BODY)
    patient.get_by_role("button", name="Send message").click()
    expect(patient).to_have_url(re.compile(r"/messages/[0-9a-f-]{36}/$"))
    expect(patient.get_by_text("Your message was sent.")).to_be_visible()
    expect(patient.get_by_text("Not read by the practice yet")).to_be_visible()
    thread_path = patient.url.removeprefix(live_server.url)

    clinician = new_page(browser, live_server)
    secret = totp_secret(world.c1.user)
    sign_in(clinician, world.c1.user.email, totp_code=lambda: totp(secret))
    clinician.get_by_role("link", name="Messages").first.click()
    expect(clinician.get_by_role("heading", name="Clinical inbox")).to_be_visible()
    row = clinician.locator(".thread-row", has_text=SUBJECT)
    expect(row).to_have_class(re.compile(r"\bis-unread\b"))
    expect(row.locator(".badge-unread")).to_be_visible()
    expect(
        clinician.get_by_role("link", name=re.compile(SUBJECT + r" \(\d+ unread\)"))
    ).to_be_visible()
    row.get_by_role("link", name=re.compile(SUBJECT)).click()
    expect(clinician.get_by_role("heading", name=SUBJECT)).to_be_visible()
    expect(clinician.get_by_text(BODY)).to_be_visible()
    clinician.get_by_label("Your reply").fill(REPLY)
    clinician.get_by_role("button", name="Send reply").click()
    expect(clinician.get_by_text("Your reply was sent.")).to_be_visible()
    expect(clinician.get_by_text(REPLY)).to_be_visible()
    # Back in the inbox the thread is read.
    clinician.goto("/messages/")
    expect(clinician.locator(".thread-row", has_text=SUBJECT)).not_to_have_class(
        re.compile(r"\bis-unread\b")
    )

    patient.goto("/messages/")
    expect(patient.locator(".thread-row.is-unread", has_text=SUBJECT)).to_be_visible()
    patient.goto(thread_path)
    expect(patient.get_by_text(REPLY)).to_be_visible()
    expect(patient.get_by_role("heading", name="Dr Rivera", exact=True)).to_be_visible()
    expect(patient.get_by_text(re.compile(r"^Read by the practice "))).to_be_visible()
    # The clinician now sees that the patient read the reply.
    clinician.goto(thread_path)
    expect(clinician.get_by_text(re.compile(r"^Read by patient "))).to_be_visible()

    assert patient.csp_errors == [] and clinician.csp_errors == []
    patient.context.close()
    clinician.context.close()


def test_triage_panel_works_with_htmx_and_keeps_focus(browser, live_server, world, totp):
    thread = actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="refill",
        subject="Refill please",
        body="Three tablets left.",
        to_pool=world.refills,
    ).thread
    staff = new_page(browser, live_server)
    secret = totp_secret(world.staff.user)
    sign_in(staff, world.staff.user.email, totp_code=lambda: totp(secret))
    staff.goto(f"/messages/{thread.uuid}/")
    claim = staff.get_by_role("button", name="Claim")
    claim.focus()
    staff.keyboard.press("Enter")
    expect(staff.get_by_role("status")).to_have_text("You claimed this conversation.")
    expect(staff.get_by_role("button", name="Claim")).to_have_count(0)
    # The button is gone with the swap: focus lands on the panel's heading, not on the page.
    expect(staff.locator("#panel-heading")).to_be_focused()
    expect(staff.locator("#practice-panel")).to_contain_text("Dr Okafor (you)")
    staff.get_by_label("Internal note (staff only)").fill("Called the pharmacy.")
    staff.get_by_role("button", name="Add note").click()
    expect(staff.get_by_role("status")).to_have_text("The note was added.")
    expect(staff.locator(".staff-only")).to_contain_text("Called the pharmacy.")
    # htmx swapped the panel in place: focus stays on the button that was used.
    assert staff.evaluate("() => document.activeElement && document.activeElement.id") == (
        "note-button"
    )
    assert staff.csp_errors == []
    staff.context.close()


def test_messaging_pages_have_no_serious_accessibility_violations(
    browser, live_server, world, totp
):
    thread = actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="medical",
        subject=SUBJECT,
        body=BODY,
        to_practitioners=[world.c1],
        readings=[{"kind": "blood-pressure", "systolic": 128, "diastolic": 82, "unit": "mmHg"}],
    ).thread
    actions.reply(world.c1.user, thread, body=REPLY)
    # axe is injected as a script tag, which the page's own policy would refuse.
    patient = new_page(browser, live_server, bypass_csp=True)
    sign_in(patient, world.patient.user.email)
    pages = ["/messages/", "/messages/new", f"/messages/{thread.uuid}/", "/help/messaging"]
    for path in pages:
        patient.goto(path)
        assert serious_axe_violations(patient) == [], path
    # A form that came back with errors.
    patient.goto("/messages/new")
    patient.get_by_label("To", exact=True).select_option(index=1)
    patient.get_by_label("What is it about?").select_option(label="Other")
    patient.get_by_label("Subject", exact=True).fill("x")
    patient.get_by_label("Message", exact=True).fill("y")
    patient.get_by_text("Add home readings (optional)").click()
    patient.get_by_label("Systolic (top number)").fill("130")
    patient.get_by_role("button", name="Send message").click()
    expect(patient.get_by_role("alert")).to_contain_text("There is a problem")
    assert serious_axe_violations(patient) == [], "compose with errors"

    clinician = new_page(browser, live_server, bypass_csp=True)
    secret = totp_secret(world.c1.user)
    sign_in(clinician, world.c1.user.email, totp_code=lambda: totp(secret))
    for path in [
        "/messages/",
        f"/messages/{thread.uuid}/",
        f"/messages/new?patient={world.patient.uuid}",
        f"/patients/{world.patient.uuid}/messages",
    ]:
        clinician.goto(path)
        assert serious_axe_violations(clinician) == [], path
    patient.context.close()
    clinician.context.close()


def test_pages_fit_a_phone_screen(browser, live_server, world, totp):
    thread = actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="medical",
        subject="A rather long subject line that could push the layout sideways on a phone",
        body="Averyveryverylongwordwithoutanyspacesthatmustwrapinsteadofscrollingsideways" * 2,
        to_practitioners=[world.c1],
    ).thread
    patient = new_page(browser, live_server, viewport=PHONE, is_mobile=True, has_touch=True)
    sign_in(patient, world.patient.user.email)
    for path in ["/messages/", "/messages/new", f"/messages/{thread.uuid}/"]:
        patient.goto(path)
        assert no_sideways_scroll(patient), path
    clinician = new_page(browser, live_server, viewport=PHONE, is_mobile=True, has_touch=True)
    secret = totp_secret(world.c1.user)
    sign_in(clinician, world.c1.user.email, totp_code=lambda: totp(secret))
    for path in ["/messages/", f"/messages/{thread.uuid}/"]:
        clinician.goto(path)
        assert no_sideways_scroll(clinician), path
    patient.context.close()
    clinician.context.close()

"""The measure dashboard through Django's test client: the owner admin sees the API's numbers,
everyone else gets the house's 404; patient lists with the gap first; evidence linked only where
the viewer may open the thread; "message these patients" previews, then sends one thread per
patient; the monthly chart costs a fixed number of queries; every view is audited."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from support.world import answered_question, build_world, make_admin, patient, visit

from carethread.audit.models import AuditEvent
from carethread.core.models import Membership
from carethread.measures import engine
from carethread.messaging import actions
from carethread.messaging.models import Message, Outreach, Thread

pytestmark = pytest.mark.django_db

DASHBOARD = "/practice/measures"
PATIENTS = "/practice/measures/patients"
TREND = "/practice/measures/trend"
OUTREACH = "/practice/measures/outreach"
TIN, OTHER_TIN = "271234567", "271234568"
NPI = "1234567893"  # c1
C2_NPI = "9876543213"
NAMES = ("Lopez", "Smith", "Block", "Brown", "Green", "White")


@pytest.fixture
def world():
    """build_world; c1 administers Riverside and answered the patient's question; two more
    enrolled patients (Green, White) were seen by c1 and never messaged."""
    w = build_world()
    make_admin(w)
    w.c2.npi = C2_NPI
    w.c2.save(update_fields=["npi"])
    w.answer = answered_question(w)
    w.green = patient(w.org, "RFM-1005", "Green", "green@example.com")
    w.white = patient(w.org, "RFM-1006", "White", "white@example.com")
    visit(w.green, w.c1, w.org, location=w.office)
    visit(w.white, w.c1, w.org, location=w.office)
    return w


@pytest.fixture
def period():
    today = timezone.localdate()
    return str(today - dt.timedelta(days=365)), str(today)


def report(period, **extra):
    start, end = period
    return {
        "program": "pi-2018",
        "start": start,
        "end": end,
        "actors": "clinician",
        "halo": "false",
        "exclude_pos": "21,23",
        "window": "period",
        **extra,
    }


def as_user(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


def links(page: str) -> list[str]:
    """Every URL the page points at (links, form actions, sources)."""
    return [html.unescape(u) for u in re.findall(r'(?:href|action|src)="([^"]*)"', page)]


def hidden(page: str, name: str) -> list[str]:
    return re.findall(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)


def form_fields(page: str, action: str) -> list[tuple[str, str]]:
    """The hidden fields of the first form posting to ``action``."""
    start = page.index(f'action="{action}"')
    form = page[start : page.index("</form>", start)]
    return re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', form)


def measure_events():
    return list(AuditEvent.objects.filter(action="measure.report").order_by("seq"))


def csrf_client(user) -> Client:
    client = as_user(user, enforce_csrf_checks=True)
    client.get("/")  # sets the CSRF cookie
    return client


def with_token(client: Client, fields) -> dict:
    data = with_token_free(fields)
    data["csrfmiddlewaretoken"] = [client.cookies["csrftoken"].value]
    return data


# -- the owner's numbers are the API's -----------------------------------------------------------


def test_owner_admin_sees_the_apis_numbers(world, period):
    client = as_user(world.c1.user)
    response = client.get(DASHBOARD, report(period))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = text(response)
    doc = response.context["doc"]
    (row,) = [r for r in doc["results"] if r["npi"] == NPI]
    assert (row["numerator"], row["denominator"], row["points"]) == (1, 5, 2)
    # The API's JSON for the same query, through the export link the page shows.
    (json_link,) = [u for u in links(page) if u.startswith("/api/") and "format=json" in u][:1]
    api = client.get(json_link)
    assert api.status_code == 200
    assert api.json() == doc
    # The same numbers on screen: TIN, clinician, counts, rate, points, what it takes.
    assert "Dr Rivera" in page and "NPI 1234567893" in page and TIN in page
    assert '<td class="num">1</td>' in page and '<td class="num">5</td>' in page
    assert "20.0%" in page and "2 of 10 points" in page
    assert "Message 1 more patient for 3 points" in page
    # Six readings side by side, the applied one marked.
    assert page.count("is-applied") == len(doc["results"])
    assert "Anyone at the practice, halo" in page
    # Every export the page offers answers 200 with the session.
    exports = [u for u in links(page) if u.startswith("/api/measures/report?")]
    assert len(exports) == 5
    for url in exports:
        assert client.get(url).status_code == 200, url


def test_the_api_agrees_for_every_level_and_policy(world, period):
    client = as_user(world.c1.user)
    for extra in (
        {"level": "group"},
        {"level": "ep", "program": "stage3-2021"},
        {"actors": "practice", "halo": "true", "exclude_pos": "none"},
        {"window": "calendar-year", "npi": NPI},
    ):
        response = client.get(DASHBOARD, report(period, **extra))
        assert response.status_code == 200, extra
        (json_link,) = [u for u in links(text(response)) if "format=json" in u][:1]
        assert client.get(json_link).json() == response.context["doc"], extra


def test_thresholded_programs_say_pass_or_fail_and_what_it_takes(world, period):
    page = text(as_user(world.c1.user).get(DASHBOARD, report(period, program="stage3-2021")))
    # c1: 1 of 5 = 20% > 5%: passes; c2: 0 of 1: fails, needs 1 more.
    assert "Pass" in page and "passes at more than 5%" in page
    assert "Fail" in page and "Message 1 more patient to pass" in page


def test_the_capability_program_shows_yes_or_no_and_no_patient_lists(world, period):
    response = as_user(world.c1.user).get(DASHBOARD, report(period, program="mod2-2015"))
    assert response.status_code == 200
    page = text(response)
    assert "Enabled throughout" in page
    assert PATIENTS not in page and TREND not in page
    assert "format=qpp" not in page  # QPP is for MIPS programs only
    (json_link,) = [u for u in links(page) if "format=json" in u][:1]
    assert as_user(world.c1.user).get(json_link).json() == response.context["doc"]


def test_warnings_are_shown(world):
    page = text(
        as_user(world.c1.user).get(
            DASHBOARD, report(("2018-01-01", "2018-12-31"), program="pi-2018")
        )
    )
    assert 'class="notice notice-warning"' not in page  # 2018 rules on 2018: no warning
    page = text(
        as_user(world.c1.user).get(
            DASHBOARD, report(("2020-01-01", "2020-12-31"), program="pi-2018")
        )
    )
    assert 'class="notice notice-warning"' in page
    assert "lies outside pi-2018&#x27;s performance year 2018" in page


def test_the_empty_form_computes_nothing(world, monkeypatch):
    monkeypatch.setattr(engine, "compute", lambda *a, **k: pytest.fail("computed"))
    response = as_user(world.c1.user).get(DASHBOARD)
    assert response.status_code == 200
    assert 'name="program"' in text(response)
    assert not measure_events()


def test_bad_input_is_shown_on_the_form_and_computes_nothing(world, period, monkeypatch):
    monkeypatch.setattr(engine, "compute", lambda *a, **k: pytest.fail("computed"))
    client = as_user(world.c1.user)
    response = client.get(DASHBOARD, report(period, npi="1111111112"))
    assert response.status_code == 400
    assert "no practitioner has NPI &#x27;1111111112&#x27;" in text(response)
    response = client.get(DASHBOARD, report(period, exclude_pos="ER"))
    assert response.status_code == 400
    assert "policy exclude_pos is a comma-separated list" in text(response)
    assert not measure_events()


def test_each_view_is_audited_with_counts_only(world, period):
    client = as_user(world.c1.user)
    client.get(DASHBOARD, report(period))
    client.get(PATIENTS, report(period, row_tin=TIN, row_npi=NPI))
    dashboard, patients = measure_events()
    assert dashboard.actor_id == world.c1.user.pk
    assert dashboard.details == {
        "program": "pi-2018",
        "level": "individual",
        "format": "html",
        "rows": 2,
        "patients": 0,
        "with_patients": False,
    }
    assert patients.details["with_patients"] is True and patients.details["patients"] == 5
    for event in (dashboard, patients):
        assert "RFM-" not in json.dumps(event.details) and event.patient_id is None


# -- who may see it ------------------------------------------------------------------------------


def every_page(period):
    return [
        (DASHBOARD, {}),
        (DASHBOARD, report(period)),
        (PATIENTS, report(period, row_tin=TIN, row_npi=NPI)),
        (TREND, report(period)),
    ]


@pytest.mark.parametrize("who", ["c2", "staff", "patient", "rep", "outsider"])
def test_everyone_but_an_admin_gets_the_404_page(world, period, who):
    client = as_user(getattr(world, who).user)
    for url, params in every_page(period):
        response = client.get(url, params)
        assert response.status_code == 404, (who, url)
        assert "Not found" in text(response)
        assert "RFM-" not in text(response)
    posted = client.post(OUTREACH, {**report(period), "candidate": str(world.green.uuid)})
    assert posted.status_code == 404
    assert not measure_events() and not Outreach.objects.exists()


def test_an_admin_of_another_practice_sees_only_their_own(world, period):
    Membership.objects.filter(practitioner=world.outsider).update(is_admin=True)
    client = as_user(world.outsider.user)
    for url, params in every_page(period):
        if params:
            response = client.get(url, {**params, "tin": TIN})
            assert response.status_code == 404, url
            assert "RFM-" not in text(response)
    own = client.get(DASHBOARD, report(period))
    assert own.status_code == 200
    assert {r["tin"] for r in own.context["doc"]["results"]} <= {OTHER_TIN}
    assert TIN not in text(own)


def test_anonymous_is_sent_to_sign_in(world, period):
    for url, params in every_page(period):
        response = Client().get(url, params)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_an_admin_of_several_practices_chooses_one(world, period):
    Membership.objects.create(
        practitioner=world.c1, organization=world.other_org, role="clinician", is_admin=True
    )
    client = as_user(world.c1.user)
    page = text(client.get(DASHBOARD))
    assert "Hillside Pediatrics (TIN 271234568)" in page
    assert client.get(DASHBOARD, report(period)).status_code == 400
    chosen = client.get(DASHBOARD, report(period, tin=OTHER_TIN))
    assert chosen.status_code == 200
    assert {r["tin"] for r in chosen.context["doc"]["results"]} == {OTHER_TIN}


def test_the_home_page_links_admins_to_the_dashboard(world):
    assert DASHBOARD in text(as_user(world.c1.user).get("/"))
    assert DASHBOARD not in text(as_user(world.c2.user).get("/"))


# -- the patients of a row -----------------------------------------------------------------------


def test_patients_page_lists_the_gap_first_with_reasons_and_portal(world, period):
    client = as_user(world.c1.user)
    response = client.get(PATIENTS, report(period, row_tin=TIN, row_npi=NPI))
    assert response.status_code == 200
    page = text(response)
    gap_at, counted_at = (
        page.index("Not in the numerator: 4 patients"),
        page.index("In the numerator: 1 patient"),
    )
    assert gap_at < counted_at
    gap, counted = page[gap_at:counted_at], page[counted_at:]
    for mrn in ("RFM-1003", "RFM-1004", "RFM-1005", "RFM-1006"):
        assert mrn in gap
    assert "RFM-1001" in counted and "Pat Lopez" in counted
    assert "The clinician answered the patient" in counted and "clinician-replied" in counted
    assert "No message in the period" in gap and "no-message" in gap
    assert "Not enrolled: invite first" in gap and "Portal access blocked" in gap
    # The not-enrolled patient gets an invitation button (the portal-access action).
    assert 'action="/practice/portal-access/change"' in gap
    assert f'value="{world.unenrolled.uuid}"' in gap
    # The API's patient list for the same row.
    (json_link,) = [
        u
        for u in links(client.get(DASHBOARD, report(period)).content.decode())
        if "format=json" in u and "patients=true" in u
    ]
    api_row = next(r for r in client.get(json_link).json()["results"] if r["npi"] == NPI)
    assert response.context["doc"]["results"][0] == api_row


def test_evidence_links_only_to_threads_the_viewer_may_open(world, period):
    thread_url = f"/messages/{world.answer.thread.uuid}/"
    mine = text(as_user(world.c1.user).get(PATIENTS, report(period, row_tin=TIN, row_npi=NPI)))
    assert world.answer.identifier in mine
    assert f'href="{thread_url}"' in mine
    # c2 administers the practice too but takes no part in c1's conversation.
    Membership.objects.filter(practitioner=world.c2).update(is_admin=True)
    theirs = text(as_user(world.c2.user).get(PATIENTS, report(period, row_tin=TIN, row_npi=NPI)))
    assert world.answer.identifier in theirs
    assert thread_url not in theirs
    assert as_user(world.c2.user).get(thread_url).status_code == 404


def test_no_mrn_or_name_in_any_url(world, period):
    client = as_user(world.c1.user)
    pages = [
        client.get(DASHBOARD, report(period)),
        client.get(PATIENTS, report(period, row_tin=TIN, row_npi=NPI)),
        client.get(TREND, report(period)),
    ]
    patients_page = text(pages[1])
    compose = client.post(OUTREACH, with_token_free(form_fields(patients_page, OUTREACH)))
    pages.append(compose)
    for response in pages:
        assert response.status_code == 200
        for url in links(text(response)):
            assert "RFM-" not in url, url
            assert not any(name in url for name in NAMES), url
    # MRNs and names are in the body of the patients page, for the admin.
    assert "RFM-1005" in patients_page and "Pat Green" in patients_page


def with_token_free(fields) -> dict:
    """The fields without the page's CSRF token."""
    data: dict[str, list[str]] = {}
    for name, value in fields:
        if name != "csrfmiddlewaretoken":
            data.setdefault(name, []).append(html.unescape(value))
    return data


def test_ep_patient_lists_need_every_practice_of_the_clinician(world, period):
    Membership.objects.create(practitioner=world.c1, organization=world.other_org, role="clinician")
    client = as_user(world.c1.user)
    params = report(period, program="stage3-2021", level="ep", row_npi=NPI)
    refused = client.get(PATIENTS, params)
    assert refused.status_code == 403
    assert "include patients of practices you do not administer" in text(refused)
    assert "RFM-" not in text(refused)
    assert not measure_events()
    Membership.objects.filter(practitioner=world.c1, organization=world.other_org).update(
        is_admin=True
    )
    allowed = client.get(PATIENTS, {**params, "tin": TIN})
    assert allowed.status_code == 200
    assert "RFM-1005" in text(allowed)


def test_the_patients_page_costs_the_same_queries_whatever_the_number_of_patients(world, period):
    client = as_user(world.c1.user)
    params = report(period, row_tin=TIN, row_npi=NPI)
    client.get(PATIENTS, params)  # warm caches (sessions, content types)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(PATIENTS, params).status_code == 200
        return len(captured)

    before = queries()
    for i in range(6):
        extra = patient(world.org, f"RFM-20{i:02d}", f"Extra{i}", f"extra{i}@example.com")
        visit(extra, world.c1, world.org, location=world.office)
        thread = actions.start_thread(
            world.c1.user, patient=extra, category="other", subject="Hi", body="Hello"
        ).thread
        actions.reply(world.c1.user, thread, body="Again")
    page = text(client.get(PATIENTS, params))
    assert "In the numerator: 7 patients" in page
    assert queries() == before


def test_a_row_that_is_not_in_the_report_is_404(world, period):
    client = as_user(world.c1.user)
    assert client.get(PATIENTS, report(period, row_tin=TIN, row_npi="")).status_code == 404
    assert client.get(PATIENTS, report(period, row_tin=OTHER_TIN, row_npi=NPI)).status_code == 404


# -- message these patients ----------------------------------------------------------------------


def start_outreach(client, period):
    page = text(client.get(PATIENTS, report(period, row_tin=TIN, row_npi=NPI)))
    assert "Message these patients (2 enrolled)" in page
    fields = form_fields(page, OUTREACH)
    return fields, client.post(OUTREACH, with_token(client, fields))


def test_outreach_previews_then_sends_one_thread_per_enrolled_gap_patient(world, period):
    client = csrf_client(world.c1.user)
    fields, compose = start_outreach(client, period)
    assert compose.status_code == 200
    assert sorted(v for k, v in fields if k == "candidate") == sorted(
        [str(world.green.uuid), str(world.white.uuid)]
    )
    page = text(compose)
    assert "Pat Green (MRN RFM-1005)" in page and "Pat White (MRN RFM-1006)" in page
    assert page.count("checked") == 2
    threads_before, messages_before = Thread.objects.count(), Message.objects.count()

    data = with_token(client, form_fields(page, OUTREACH))
    data.update(
        stage=["preview"],
        category=["other"],
        subject=["Time for a check-in"],
        body=["Hello {patient_first_name}, how are you doing?"],
        patients=[str(world.green.uuid), str(world.white.uuid)],
    )
    preview = client.post(OUTREACH, data)
    assert preview.status_code == 200
    page = text(preview)
    assert "2 patients will get a message" in page
    assert "Hello Pat, how are you doing?" in page
    assert (Thread.objects.count(), Message.objects.count()) == (threads_before, messages_before)
    outreach = Outreach.objects.get()
    assert outreach.state == Outreach.State.PREVIEW

    confirm_url = f"/practice/measures/outreach/{outreach.uuid}/confirm"
    confirm_fields = form_fields(page, confirm_url)
    # Without the CSRF token nothing happens.
    refused = client.post(confirm_url, with_token_free(confirm_fields))
    assert refused.status_code == 403, (refused.status_code, refused.get("Location"))
    assert Thread.objects.count() == threads_before
    sent = client.post(confirm_url, with_token(client, confirm_fields))
    assert sent.status_code == 302
    assert sent["Location"].startswith(PATIENTS + "?")
    new = Thread.objects.exclude(pk__lt=0).order_by("-pk")[:2]
    assert Thread.objects.count() == threads_before + 2
    assert {t.patient_id for t in new} == {world.green.pk, world.white.pk}
    outreach.refresh_from_db()
    assert outreach.state == Outreach.State.SENT
    # c1 sent them: both patients are now in c1's numerator.
    after = text(client.get(sent["Location"]))
    assert "2 messages sent" in after
    assert "In the numerator: 3 patients" in after
    # A second confirm sends nothing more.
    again = client.post(confirm_url, with_token(client, confirm_fields))
    assert again.status_code == 302
    assert Thread.objects.count() == threads_before + 2


def test_a_staff_admin_writes_on_behalf_of_the_rows_clinician(world, period):
    Membership.objects.filter(practitioner=world.staff).update(is_admin=True)
    client = csrf_client(world.staff.user)
    _fields, compose = start_outreach(client, period)
    page = text(compose)
    assert "Send on behalf of" in page
    assert re.search(rf'<option value="{world.c1.uuid}" selected>Dr Rivera</option>', page)
    data = with_token(client, form_fields(page, OUTREACH))
    data.update(
        stage=["preview"],
        category=["other"],
        subject=["Checking in"],
        body=["Hello"],
        on_behalf_of=[str(world.c1.uuid)],
        patients=[str(world.green.uuid), str(world.white.uuid)],
    )
    preview = client.post(OUTREACH, data)
    outreach = Outreach.objects.get()
    confirm_url = f"/practice/measures/outreach/{outreach.uuid}/confirm"
    sent = client.post(confirm_url, with_token(client, form_fields(text(preview), confirm_url)))
    assert sent.status_code == 302
    written = Message.objects.filter(thread__patient__in=[world.green, world.white])
    assert written.count() == 2
    assert {(m.sender_practitioner_id, m.on_behalf_of_id) for m in written} == {
        (world.staff.pk, world.c1.pk)
    }
    # Under the delegate policy the two patients now count for c1.
    delegate = client.get(PATIENTS, report(period, actors="delegate", row_tin=TIN, row_npi=NPI))
    assert "In the numerator: 3 patients" in text(delegate)
    assert "Staff sent a message on the clinician&#x27;s behalf" in text(delegate)


def test_outreach_respects_the_hard_limit(world, period, settings):
    settings.CARETHREAD_OUTREACH_LIMIT = 1
    client = csrf_client(world.c1.user)
    _fields, compose = start_outreach(client, period)
    page = text(compose)
    assert "at most 1 patients" in page
    assert page.count("checked") == 1
    data = with_token(client, form_fields(page, OUTREACH))
    data.update(
        stage=["preview"],
        category=["other"],
        subject=["Hi"],
        body=["Hello"],
        patients=[str(world.green.uuid), str(world.white.uuid)],
    )
    refused = client.post(OUTREACH, data)
    assert refused.status_code == 400
    assert "Too many patients for one outreach." in text(refused)
    assert not Outreach.objects.exists()


def test_outreach_shows_who_cannot_be_messaged_and_cancel_sends_nothing(world, period):
    client = csrf_client(world.c1.user)
    fields, _compose = start_outreach(client, period)
    data = with_token(client, fields)
    # The blocked patient is added to the list by hand: the preview says why it is left out.
    data["candidate"] = [*data["candidate"], str(world.blocked_patient.uuid)]
    data.update(
        stage=["preview"],
        category=["other"],
        subject=["Hi"],
        body=["Hello"],
        patients=[str(world.green.uuid), str(world.blocked_patient.uuid)],
    )
    preview = client.post(OUTREACH, data)
    page = text(preview)
    assert "1 patient will get a message" in page
    assert "Pat Block" in page and "portal access blocked" in page
    outreach = Outreach.objects.get()
    threads_before = Thread.objects.count()
    cancel_url = f"/practice/measures/outreach/{outreach.uuid}/cancel"
    response = client.post(cancel_url, with_token(client, form_fields(page, cancel_url)))
    assert response.status_code == 302
    outreach.refresh_from_db()
    assert outreach.state == Outreach.State.CANCELLED
    assert Thread.objects.count() == threads_before


def test_only_the_author_confirms_an_outreach(world, period):
    client = csrf_client(world.c1.user)
    fields, _compose = start_outreach(client, period)
    data = with_token(client, fields)
    data.update(stage=["preview"], category=["other"], subject=["Hi"], body=["Hello"])
    data["patients"] = [str(world.green.uuid)]
    client.post(OUTREACH, data)
    outreach = Outreach.objects.get()
    Membership.objects.filter(practitioner=world.c2).update(is_admin=True)
    other = csrf_client(world.c2.user)
    response = other.post(
        f"/practice/measures/outreach/{outreach.uuid}/confirm",
        with_token(other, report(period).items()),
    )
    assert response.status_code == 404
    outreach.refresh_from_db()
    assert outreach.state == Outreach.State.PREVIEW


def test_the_outreach_page_never_names_patients_of_other_practices(world, period):
    client = csrf_client(world.c1.user)
    data = with_token(client, report(period).items())
    data.update(stage=["start"], candidate=[str(world.outside_patient.uuid)])
    response = client.post(OUTREACH, data)
    assert response.status_code == 200
    assert "HP-2001" not in text(response) and "Far" not in text(response)


def test_outreach_posts_need_the_csrf_token(world, period):
    client = as_user(world.c1.user, enforce_csrf_checks=True)
    response = client.post(OUTREACH, {**report(period), "candidate": str(world.green.uuid)})
    assert response.status_code == 403


# -- the rate over time --------------------------------------------------------------------------


def test_trend_shows_monthly_rates_as_svg_and_table(world):
    today = timezone.localdate()
    first = today.replace(day=1)
    start = (first - dt.timedelta(days=1)).replace(day=1)  # last month and this one
    client = as_user(world.c1.user)
    response = client.get(TREND, report((str(start), str(today))))
    assert response.status_code == 200
    page = text(response)
    assert page.count('<svg class="trend-chart"') == len(response.context["charts"])
    assert 'role="img"' in page and "<desc" in page
    # Each month's numbers are engine.compute for that month.
    doc = client.get(DASHBOARD, report((str(first), str(today)))).context["doc"]
    (row,) = [r for r in doc["results"] if r["npi"] == NPI]
    (chart,) = [c for c in response.context["charts"] if "NPI 1234567893" in c["title"]]
    assert chart["cells"][-1]["counts"] == (row["numerator"], row["denominator"])
    assert measure_events()[0].details["format"] == "chart"


def test_trend_costs_the_same_queries_whatever_the_number_of_patients(world, period):
    client = as_user(world.c1.user)
    client.get(TREND, report(period))  # warm caches (sessions, content types)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(TREND, report(period)).status_code == 200
        return len(captured)

    before = queries()
    for i in range(6):
        extra = patient(world.org, f"RFM-20{i:02d}", f"Extra{i}", f"extra{i}@example.com")
        visit(extra, world.c1, world.org, location=world.office)
        visit(extra, world.c2, world.org, days_ago=60, location=world.office)
    assert queries() == before


def test_trend_refuses_a_period_longer_than_two_years(world):
    response = as_user(world.c1.user).get(TREND, report(("2016-01-01", "2018-12-31")))
    assert response.status_code == 400
    assert "at most 24 months" in text(response)

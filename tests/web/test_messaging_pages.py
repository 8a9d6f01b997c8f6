"""The messaging pages through Django's test client: who sees what, forms and their errors,
triage controls, attachments, and the 404 / redirect / CSRF answers."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.test import Client
from django.utils import timezone
from support.world import client_of, patient_question

from carethread.audit.models import AuditEvent
from carethread.messaging import actions
from carethread.messaging.models import Message, Thread, ThreadMember

pytestmark = pytest.mark.django_db

INBOX = "/messages/"
NEW = "/messages/new"
SUBJECT = "Knee pain after running"
BODY = "My left knee hurts since the weekend run."
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def thread(world):
    """A patient's message to their clinician (c1)."""
    return patient_question(world, subject=SUBJECT, body=BODY).thread


@pytest.fixture
def pool_thread(world):
    """A patient's message to the Refills pool (member: staff; not staff2)."""
    return actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="refill",
        subject="Refill for lisinopril",
        body="I have three tablets left.",
        to_pool=world.refills,
    ).thread


def written() -> int:
    """Messages people wrote (the practice's automatic acknowledgements left out)."""
    return Message.objects.filter(is_automatic=False).count()


def thread_url(t) -> str:
    return f"/messages/{t.uuid}/"


def text(response) -> str:
    return response.content.decode()


def compose_data(world, **overrides):
    data = {
        "recipient": f"c:{world.c1.uuid}",
        "category": "medical",
        "subject": "Rash on my arm",
        "body": "It appeared two days ago.",
        "client_key": "",
    }
    data.update(overrides)
    return data


# -- who may open what ---------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(world, thread):
    client = Client()
    for url in (
        INBOX,
        NEW,
        thread_url(thread),
        f"/patients/{world.patient.uuid}/messages",
        f"/messages/attachments/{uuid.uuid4()}",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    response = client.post(f"{thread_url(thread)}reply", {"body": "hello"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert written() == 1


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("patient", True),
        ("rep", True),
        ("c1", True),
        ("expired_rep", False),
        ("other_patient", False),
        ("c2", False),
        ("staff2", False),
        ("outsider", False),
    ],
)
def test_thread_page_is_404_for_anyone_who_may_not_see_it(world, thread, who, allowed):
    client = client_of(getattr(world, who).user)
    response = client.get(thread_url(thread))
    if allowed:
        assert response.status_code == 200
        assert SUBJECT in text(response) and BODY in text(response)
    else:
        assert response.status_code == 404
        assert "Not found" in text(response)
        assert SUBJECT not in text(response) and BODY not in text(response)
    inbox = client.get(INBOX)
    assert inbox.status_code == 200
    assert (SUBJECT in text(inbox)) is allowed


@pytest.mark.parametrize(("who", "allowed"), [("staff", True), ("staff2", False), ("c2", False)])
def test_pool_threads_are_seen_by_the_pool_only(world, pool_thread, who, allowed):
    response = client_of(getattr(world, who).user).get(thread_url(pool_thread))
    assert response.status_code == (200 if allowed else 404)


def test_unknown_and_malformed_thread_ids_are_the_same_404(world):
    client = client_of(world.patient.user)
    for url in (f"/messages/{uuid.uuid4()}/", "/messages/not-a-uuid/"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Not found" in text(response)


def test_opening_a_thread_records_the_view_and_marks_it_read(world, thread):
    member = ThreadMember.objects.get(thread=thread, user=world.c1.user)
    assert member.unread == 1
    response = client_of(world.c1.user).get(thread_url(thread))
    assert response.status_code == 200
    assert response["Cache-Control"].count("no-store") == 1
    member.refresh_from_db()
    assert member.unread == 0
    view = AuditEvent.objects.filter(action="thread.view", actor_id=world.c1.user.pk).get()
    assert view.patient_id == world.patient.pk
    assert AuditEvent.objects.filter(action="message.read", actor_id=world.c1.user.pk).exists()
    # The patient now sees the practice's read receipt under their message.
    patient_page = text(client_of(world.patient.user).get(thread_url(thread)))
    assert "Read by the practice" in patient_page


def test_a_refused_view_writes_no_view_entry(world, thread):
    client_of(world.outsider.user).get(thread_url(thread))
    assert not AuditEvent.objects.filter(action="thread.view").exists()


# -- inboxes -------------------------------------------------------------------------------------


def test_patient_inbox_lists_threads_newest_first_with_unread_markers(world, thread, pool_thread):
    reply_body = "Please rest it and come in on Monday."
    actions.reply(world.c1.user, thread, body=reply_body)
    response = client_of(world.patient.user).get(INBOX)
    page = text(response)
    assert response.status_code == 200
    # The reply made the knee thread the newest.
    assert page.index(SUBJECT) < page.index("Refill for lisinopril")
    # The count is the sum over the patient's threads (replies and automatic acknowledgements).
    unread = sum(
        ThreadMember.objects.filter(user=world.patient.user).values_list("unread", flat=True)
    )
    assert unread >= 2
    assert f"You have <strong>{unread} unread</strong> messages." in page
    assert re.search(
        r'class="thread-row is-unread">\s*<div class="thread-main">\s*<a[^>]*>' + SUBJECT, page
    )
    assert "New message" in page
    assert reply_body not in page  # bodies only on the thread page


def test_representative_switches_between_patients(world, thread):
    page = text(client_of(world.rep.user).get(INBOX))
    assert "Show messages for" not in page  # one represented person: nothing to choose
    assert SUBJECT in page and "About Pat Lopez" in page
    selected = client_of(world.rep.user).get(INBOX, {"patient": str(world.patient.uuid)})
    assert selected.status_code == 200 and SUBJECT in text(selected)
    # A patient they do not represent is not found.
    other = client_of(world.rep.user).get(INBOX, {"patient": str(world.other_patient.uuid)})
    assert other.status_code == 404


def test_representative_of_two_patients_sees_the_selector(world, thread):
    from support.world import representative

    # The same login also represents another patient.
    second = representative(world.other_patient, "jane2@example.com", login=False)
    second.user = world.rep.user
    second.save()
    client = client_of(world.rep.user)
    page = text(client.get(INBOX))
    assert "Show messages for" in page and "Pat Smith" in page
    only_other = text(client.get(INBOX, {"patient": str(world.other_patient.uuid)}))
    assert SUBJECT not in only_other


def test_practice_inbox_tabs_and_filters(world, thread, pool_thread):
    client = client_of(world.staff.user)
    mine = text(client.get(INBOX))
    assert "Clinical inbox" in mine
    assert 'aria-current="page">My threads' in mine
    assert "Refill for lisinopril" in mine  # the pool member takes part
    pool_tab = text(client.get(INBOX, {"box": "pool", "pool": str(world.refills.uuid)}))
    assert "Refill for lisinopril" in pool_tab and "Refills" in pool_tab
    assert SUBJECT not in pool_tab
    assert "RFM-1001" in pool_tab  # the MRN is shown, never put in a link
    front = text(client.get(INBOX, {"box": "pool", "pool": str(world.front.uuid)}))
    assert "Refill for lisinopril" not in front
    # Filters by status and category.
    closed = text(
        client.get(INBOX, {"box": "pool", "pool": str(world.refills.uuid), "status": "closed"})
    )
    assert "Refill for lisinopril" not in closed and "No conversations match." in closed
    by_cat = text(
        client.get(INBOX, {"box": "pool", "pool": str(world.refills.uuid), "category": "refill"})
    )
    assert "Refill for lisinopril" in by_cat


def test_practice_inbox_unread_and_overdue_markers(world, thread):
    Thread.objects.filter(pk=thread.pk).update(reply_due_at=timezone.now() - dt.timedelta(hours=1))
    client = client_of(world.c1.user)
    page = text(client.get(INBOX))
    assert "1 unread" in page and "badge-overdue" in page
    assert text(client.get(INBOX, {"overdue": "on"})).count(SUBJECT) == 1
    assert text(client.get(INBOX, {"unread": "on"})).count(SUBJECT) == 1
    client.get(thread_url(thread))
    assert SUBJECT not in text(client.get(INBOX, {"unread": "on"}))


def test_patient_filter_goes_through_a_posted_mrn(world, thread):
    client = client_of(world.c1.user)
    response = client.post(
        "/messages/find-patient", {"mrn": "RFM-1001", "to": "inbox", "box": "mine"}
    )
    assert response.status_code == 302
    assert "RFM-1001" not in response["Location"]
    assert f"patient={world.patient.uuid}" in response["Location"]
    page = text(client.get(response["Location"]))
    assert "Showing conversations about" in page and SUBJECT in page
    missing = client.post("/messages/find-patient", {"mrn": "NOPE-1", "to": "inbox"})
    assert missing.status_code == 400 and "No patient of your practice" in text(missing)
    # Another organisation's patient is not found either.
    outsider = client_of(world.outsider.user).post("/messages/find-patient", {"mrn": "RFM-1001"})
    assert outsider.status_code == 400
    # Patients cannot look up anyone.
    assert (
        client_of(world.patient.user)
        .post("/messages/find-patient", {"mrn": "RFM-1001"})
        .status_code
        == 404
    )


def test_inbox_query_count_does_not_grow_with_rows(world, django_assert_max_num_queries):
    client = client_of(world.c1.user)
    client.get(INBOX)  # warm the session
    for n in range(6):
        actions.start_thread(
            world.patient.user,
            patient=world.patient,
            category="medical",
            subject=f"Question {n}",
            body="text",
            to_practitioners=[world.c1],
        )
    with django_assert_max_num_queries(20) as few:
        client.get(INBOX)
    many = len(few.captured_queries)
    for n in range(10):
        actions.start_thread(
            world.patient.user,
            patient=world.patient,
            category="medical",
            subject=f"More {n}",
            body="text",
            to_practitioners=[world.c1],
        )
    with django_assert_max_num_queries(many):
        page = client.get(INBOX)
    assert text(page).count("More ") == 10


def test_older_conversations_page_on(world, settings):
    from carethread.messaging.queries import PAGE

    settings.CARETHREAD_SEND_RATE_PER_HOUR = PAGE + 10
    for n in range(PAGE + 2):
        actions.start_thread(
            world.patient.user,
            patient=world.patient,
            category="other",
            subject=f"Topic number {n:03d}",
            body="text",
            to_practitioners=[world.c1],
        )
    client = client_of(world.patient.user)
    first = text(client.get(INBOX))
    assert "Topic number 051" in first and "Topic number 001" not in first
    older = re.search(r'<a href="(\?[^"]*before=[^"]+)">Older conversations</a>', first).group(1)
    second = text(client.get(INBOX + older.replace("&amp;", "&")))
    assert "Topic number 001" in second and "Topic number 000" in second
    assert "Topic number 051" not in second
    assert ">Newest conversations</a>" in second


# -- the patient's record view -------------------------------------------------------------------


def test_patient_record_lists_every_visible_thread(world, thread, pool_thread):
    url = f"/patients/{world.patient.uuid}/messages"
    page = text(client_of(world.c1.user).get(url))
    assert SUBJECT in page and "New message to this patient" in page
    assert f'href="/messages/new?patient={world.patient.uuid}"' in page
    # staff sees the pool thread but not c1's conversation
    staff_page = text(client_of(world.staff.user).get(url))
    assert "Refill for lisinopril" in staff_page and SUBJECT not in staff_page
    for who in ("outsider", "patient", "rep"):
        assert client_of(getattr(world, who).user).get(url).status_code == 404, who
    assert (
        client_of(world.c1.user).get(f"/patients/{world.outside_patient.uuid}/messages").status_code
        == 404
    )


# -- compose (patient side) ----------------------------------------------------------------------


def test_compose_shows_the_emergency_notice_and_response_time_before_sending(world):
    response = client_of(world.patient.user).get(NEW)
    page = text(response)
    assert response.status_code == 200
    assert "Messaging is not for emergencies — call 911" in page
    assert "Riverside Family Medicine replies <strong>within 3 business days</strong>" in page
    assert page.index("call 911") < page.index('type="submit">Send message')
    # Recipients: the clinician who saw the patient and the practice's pools, not c2.
    assert f'value="c:{world.c1.uuid}"' in page
    assert f'value="p:{world.refills.uuid}"' in page and f'value="p:{world.front.uuid}"' in page
    assert f'value="c:{world.c2.uuid}"' not in page
    assert 'name="private"' in page


def test_patient_sends_a_message_with_readings(world):
    client = client_of(world.patient.user)
    data = compose_data(world, bp_systolic="128", bp_diastolic="82", glucose="104", weight="171.5")
    response = client.post(NEW, data)
    assert response.status_code == 302
    message = Message.objects.get(is_automatic=False)
    assert response["Location"] == thread_url(message.thread)
    page = text(client.get(response["Location"]))
    assert "Your message was sent." in page
    assert "Rash on my arm" in page and "It appeared two days ago." in page
    assert "<dt>Blood pressure</dt><dd>128/82 mmHg</dd>" in page
    assert "<dt>Blood glucose</dt><dd>104 mg/dL</dd>" in page
    assert "<dt>Weight</dt><dd>171.5 lb</dd>" in page
    assert "Not read by the practice yet" in page
    # the clinician sees the same structured values
    assert "<dd>128/82 mmHg</dd>" in text(client_of(world.c1.user).get(response["Location"]))


def test_compose_errors_re_render_the_form(world):
    client = client_of(world.patient.user)
    missing = client.post(NEW, compose_data(world, body="   ", subject=""))
    assert missing.status_code == 400
    page = text(missing)
    assert "There is a problem" in page and 'aria-invalid="true"' in page
    assert 'value="c:' in page  # the form is shown again
    half_bp = client.post(NEW, compose_data(world, bp_systolic="130"))
    assert half_bp.status_code == 400
    assert "Enter both blood pressure numbers, or neither." in text(half_bp)
    not_allowed = client.post(NEW, compose_data(world, recipient=f"c:{world.c2.uuid}"))
    assert not_allowed.status_code == 400
    assert written() == 0


def test_a_refusal_of_the_action_is_shown_in_the_form(world, settings):
    settings.CARETHREAD_SEND_RATE_PER_HOUR = 0
    response = client_of(world.patient.user).post(NEW, compose_data(world))
    assert response.status_code == 429
    assert "Too many messages; please wait a while." in text(response)
    assert written() == 0


def test_sending_the_same_form_twice_writes_one_message(world):
    client = client_of(world.patient.user)
    data = compose_data(world, client_key="k-0123456789")
    first = client.post(NEW, data)
    second = client.post(NEW, data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert written() == 1


def test_representative_writes_on_behalf_of_the_patient(world):
    client = client_of(world.rep.user)
    page = text(client.get(NEW))
    assert "You are writing on behalf of Pat Lopez" in page
    assert 'name="private"' not in page  # only the patient keeps threads from proxies
    response = client.post(NEW, compose_data(world))
    assert response.status_code == 302
    thread_page = text(client_of(world.c1.user).get(response["Location"]))
    assert "Jane Doe on behalf of Pat Lopez" in thread_page


def test_a_private_thread_is_kept_from_representatives(world):
    response = client_of(world.patient.user).post(NEW, compose_data(world, private="on"))
    assert response.status_code == 302
    assert Thread.objects.get().private_from_representatives
    assert client_of(world.rep.user).get(response["Location"]).status_code == 404
    assert "Rash on my arm" not in text(client_of(world.rep.user).get(INBOX))


def test_compose_is_404_for_an_expired_representative(world):
    client = client_of(world.expired_rep.user)
    assert client.get(NEW).status_code == 404
    assert client.post(NEW, compose_data(world)).status_code == 404
    assert written() == 0


def test_expired_representative_inbox_offers_nothing_to_write(world, thread):
    page = text(client_of(world.expired_rep.user).get(INBOX))
    assert "There are no messages you can see." in page
    assert 'href="/messages/new"' not in page and SUBJECT not in page


def test_compose_for_a_patient_not_represented_is_404(world):
    client = client_of(world.rep.user)
    assert client.get(NEW, {"patient": str(world.other_patient.uuid)}).status_code == 404


# -- compose (practice side) ---------------------------------------------------------------------


def test_practice_compose_needs_a_patient_of_the_practice(world):
    client = client_of(world.c1.user)
    lookup = client.get(NEW)
    assert lookup.status_code == 200 and "Find a patient" in text(lookup)
    assert client.get(NEW, {"patient": str(world.patient.uuid)}).status_code == 200
    assert client.get(NEW, {"patient": str(world.outside_patient.uuid)}).status_code == 404
    assert client.get(NEW, {"patient": "RFM-1001"}).status_code == 404
    assert (
        client_of(world.outsider.user).get(NEW, {"patient": str(world.patient.uuid)}).status_code
        == 404
    )


def test_clinician_writes_to_the_patient(world):
    client = client_of(world.c1.user)
    url = f"{NEW}?patient={world.patient.uuid}"
    response = client.post(
        url,
        {
            "to": "patient",
            "category": "appointment",
            "subject": "Your results",
            "body": "All normal.",
        },
    )
    assert response.status_code == 302
    thread = Thread.objects.get()
    assert thread.includes_patient and thread.assignee == world.c1
    assert "All normal." in text(client_of(world.patient.user).get(response["Location"]))


def test_clinician_writes_to_a_colleague_about_the_patient(world):
    client = client_of(world.c1.user)
    url = f"{NEW}?patient={world.patient.uuid}"
    page = text(client.get(url))
    assert f'value="{world.c2.uuid}"' in page and f'value="{world.c1.uuid}"' not in page
    no_colleague = client.post(
        url, {"to": "colleagues", "category": "referral", "subject": "Ortho?", "body": "Thoughts?"}
    )
    assert no_colleague.status_code == 400 and "Choose at least one colleague." in text(
        no_colleague
    )
    response = client.post(
        url,
        {
            "to": "colleagues",
            "colleagues": [str(world.c2.uuid)],
            "category": "referral",
            "subject": "Ortho?",
            "body": "Thoughts?",
        },
    )
    assert response.status_code == 302
    thread = Thread.objects.get()
    assert thread.kind == "clinical" and not thread.includes_patient
    assert client_of(world.c2.user).get(response["Location"]).status_code == 200
    assert client_of(world.patient.user).get(response["Location"]).status_code == 404


def test_staff_send_on_behalf_of_a_clinician(world):
    client = client_of(world.staff.user)
    url = f"{NEW}?patient={world.patient.uuid}"
    page = text(client.get(url))
    assert "Send on behalf of" in page and f'value="{world.c1.uuid}"' in page
    assert "Send on behalf of" not in text(client_of(world.c1.user).get(url))
    response = client.post(
        url,
        {
            "to": "patient",
            "on_behalf_of": str(world.c1.uuid),
            "category": "medical",
            "subject": "Lab follow-up",
            "body": "Dr Rivera asked me to write.",
        },
    )
    assert response.status_code == 302
    thread_page = text(client_of(world.patient.user).get(response["Location"]))
    assert "Dr Okafor on behalf of Dr Rivera" in thread_page


def test_practice_compose_refusal_is_shown(world):
    response = client_of(world.c1.user).post(
        f"{NEW}?patient={world.unenrolled.uuid}",
        {"to": "patient", "category": "medical", "subject": "Hello", "body": "Hi"},
    )
    assert response.status_code == 400
    assert "The patient has no portal access yet: invite them first." in text(response)


# -- the thread page -----------------------------------------------------------------------------


def test_reply_and_read_receipt_both_ways(world, thread):
    practice = client_of(world.c1.user)
    practice.get(thread_url(thread))
    response = practice.post(f"{thread_url(thread)}reply", {"body": "Rest it for a week."})
    assert response.status_code == 302 and "#message-" in response["Location"]
    page = text(practice.get(thread_url(thread)))
    assert "Not read by the patient yet" in page
    patient = client_of(world.patient.user)
    patient_page = text(patient.get(thread_url(thread)))
    assert "Rest it for a week." in patient_page and "Dr Rivera" in patient_page
    assert "Read by patient" in text(practice.get(thread_url(thread)))


def test_reply_errors_re_render_the_thread(world, thread):
    client = client_of(world.patient.user)
    empty = client.post(f"{thread_url(thread)}reply", {"body": " "})
    assert empty.status_code == 400
    assert "There is a problem" in text(empty) and BODY in text(empty)


def test_closed_reply_window_disables_the_form_with_the_reason(world, thread):
    old = timezone.now() - dt.timedelta(days=60)
    Thread.objects.filter(pk=thread.pk).update(last_message_at=old)
    client = client_of(world.patient.user)
    page = text(client.get(thread_url(thread)))
    assert "The conversation is closed to replies; start a new message." in page
    assert '<fieldset disabled aria-describedby="reply-closed">' in page
    refused = client.post(f"{thread_url(thread)}reply", {"body": "One more thing"})
    assert refused.status_code == 409
    assert "closed to replies" in text(refused)
    assert written() == 1


def test_retract_own_message(world, thread):
    client = client_of(world.patient.user)
    message = thread.messages.get(is_automatic=False)
    url = f"{thread_url(thread)}messages/{message.uuid}/retract"
    assert client_of(world.c1.user).post(url).status_code == 404  # not theirs
    assert client_of(world.outsider.user).post(url).status_code == 404
    response = client.post(url)
    assert response.status_code == 302
    page = text(client.get(thread_url(thread)))
    assert "This message was retracted" in page and BODY not in page
    rep_page = text(client_of(world.rep.user).get(thread_url(thread)))
    assert "This message was retracted" in rep_page and BODY not in rep_page


def test_practice_sees_staff_controls_the_patient_never_does(world, thread):
    staff_page = text(client_of(world.c1.user).get(thread_url(thread)))
    assert "Staff only" in staff_page and "Handling" in staff_page
    patient_page = text(client_of(world.patient.user).get(thread_url(thread)))
    assert "Staff only" not in patient_page and "Assign to" not in patient_page


# -- triage --------------------------------------------------------------------------------------


def test_claim_assign_status_and_notes(world, pool_thread):
    client = client_of(world.staff.user)
    url = thread_url(pool_thread)
    page = text(client.get(url))
    assert ">Claim</button>" in page
    response = client.post(f"{url}claim", {"version": pool_thread.version})
    assert response.status_code == 302
    pool_thread.refresh_from_db()
    assert pool_thread.assignee == world.staff
    page = text(client.get(url))
    assert "You claimed this conversation." in page and "Dr Okafor (you)" in page
    # A stale form is refused with the action's message, nothing changes.
    stale = client.post(f"{url}status", {"status": "done", "version": 1})
    assert stale.status_code == 302
    assert "The conversation changed since you loaded it" in text(client.get(url))
    pool_thread.refresh_from_db()
    assert pool_thread.status == "open"
    client.post(f"{url}status", {"status": "closed", "version": pool_thread.version})
    pool_thread.refresh_from_db()
    assert pool_thread.status == "closed"
    closed_page = text(client.get(url))
    assert ">Reopen</button>" in closed_page and "The conversation is closed." in closed_page
    assert "The conversation is closed." in text(client_of(world.patient.user).get(url))
    client.post(f"{url}status", {"status": "open", "version": pool_thread.version})
    pool_thread.refresh_from_db()
    assert pool_thread.status == "open"
    # Notes: staff only.
    client.post(f"{url}notes", {"note-body": "Called the pharmacy."})
    assert "Called the pharmacy." in text(client.get(url))
    assert "Called the pharmacy." not in text(client_of(world.patient.user).get(url))
    # Assign to a colleague by UUID.
    pool_thread.refresh_from_db()
    client.post(f"{url}assign", {"assignee": str(world.c2.uuid), "version": pool_thread.version})
    pool_thread.refresh_from_db()
    assert pool_thread.assignee == world.c2
    assert client_of(world.c2.user).get(url).status_code == 200


def test_triage_with_htmx_returns_the_panel_only(world, pool_thread):
    client = client_of(world.staff.user)
    url = thread_url(pool_thread)
    response = client.post(
        f"{url}claim", {"version": pool_thread.version}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    page = text(response)
    assert page.lstrip().startswith('<section id="practice-panel"')
    assert 'hx-swap-oob="true">You claimed this conversation.' in page
    empty_note = client.post(f"{url}notes", {"note-body": ""}, headers={"HX-Request": "true"})
    # htmx swaps only successful answers, so a refusal comes back as the panel with its reason.
    assert empty_note.status_code == 200
    assert (
        'class="panel-status is-error" role="status" hx-swap-oob="true">The note has no text.'
        in (text(empty_note))
    )
    stale = client.post(
        f"{url}assign",
        {"assignee": str(world.c2.uuid), "version": 1},
        headers={"HX-Request": "true"},
    )
    assert "is-error" in text(stale) and "changed since you loaded it" in text(stale)
    pool_thread.refresh_from_db()
    assert pool_thread.assignee == world.staff


def test_triage_is_404_for_the_patient_side_and_outsiders(world, pool_thread):
    url = thread_url(pool_thread)
    for who in ("patient", "rep", "staff2", "outsider"):
        client = client_of(getattr(world, who).user)
        for op, data in (
            ("claim", {}),
            ("status", {"status": "closed"}),
            ("notes", {"note-body": "x"}),
            ("assign", {"assignee": ""}),
        ):
            assert client.post(f"{url}{op}", data).status_code == 404, (who, op)
    pool_thread.refresh_from_db()
    assert pool_thread.assignee is None and pool_thread.status == "open"


# -- attachments ---------------------------------------------------------------------------------


def test_attachment_upload_and_download(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_of(world.patient.user)
    upload = SimpleUploadedFile("rash photo.png", PNG, content_type="image/png")
    response = client.post(NEW, {**compose_data(world), "attachments": [upload]})
    assert response.status_code == 302
    message = Message.objects.get(is_automatic=False)
    attachment = message.attachments.get()
    page = text(client.get(response["Location"]))
    link = f"/messages/attachments/{attachment.uuid}"
    assert link in page and "rash photo.png" in page
    download = client_of(world.c1.user).get(link)
    assert download.status_code == 200
    assert download.content == PNG
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(
        action="attachment.download", actor_id=world.c1.user.pk
    ).exists()
    for who in ("outsider", "other_patient", "expired_rep", "staff2"):
        assert client_of(getattr(world, who).user).get(link).status_code == 404, who


def test_a_refused_upload_is_shown_and_sends_nothing(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_of(world.patient.user)
    fake = SimpleUploadedFile("notes.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    response = client.post(NEW, {**compose_data(world), "attachments": [fake]})
    assert response.status_code == 400
    assert "notes.pdf: That type of file is not accepted." in text(response)
    assert written() == 0


def test_a_good_upload_is_kept_when_the_form_must_be_sent_again(world, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_of(world.patient.user)
    settings.CARETHREAD_SEND_RATE_PER_HOUR = 0
    upload = SimpleUploadedFile("scan.png", PNG, content_type="image/png")
    refused = client.post(NEW, {**compose_data(world), "attachments": [upload]})
    assert refused.status_code == 429
    kept = re.search(r'name="kept_attachment" value="([0-9a-f-]+)"', text(refused)).group(1)
    assert "scan.png" in text(refused)
    settings.CARETHREAD_SEND_RATE_PER_HOUR = 30
    response = client.post(NEW, {**compose_data(world), "kept_attachment": [kept]})
    assert response.status_code == 302
    assert str(Message.objects.get(is_automatic=False).attachments.get().uuid) == kept
    # Someone else's unsent upload cannot be slipped in: it is dropped, not attached.
    settings.CARETHREAD_SEND_RATE_PER_HOUR = 0
    other = client_of(world.other_patient.user)
    other_upload = SimpleUploadedFile("x.png", PNG, content_type="image/png")
    refused = other.post(
        NEW,
        {**compose_data(world, recipient=f"c:{world.c2.uuid}"), "attachments": [other_upload]},
    )
    assert refused.status_code == 429
    settings.CARETHREAD_SEND_RATE_PER_HOUR = 30
    foreign = re.search(r'name="kept_attachment" value="([0-9a-f-]+)"', text(refused)).group(1)
    again = client.post(
        NEW, {**compose_data(world, subject="Second"), "kept_attachment": [foreign]}
    )
    assert again.status_code == 302
    second = Message.objects.get(thread__uuid=again["Location"].split("/")[2], is_automatic=False)
    assert not second.attachments.exists()


# -- CSRF, help, home ----------------------------------------------------------------------------


def test_csrf_enforcing_client_is_refused(world, thread):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.patient.user)
    assert client.post(NEW, compose_data(world)).status_code == 403
    assert client.post(f"{thread_url(thread)}reply", {"body": "x"}).status_code == 403
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(world.c1.user)
    assert staff.post(f"{thread_url(thread)}claim", {}).status_code == 403
    assert written() == 1
    thread.refresh_from_db()
    assert thread.assignee is None


def test_csrf_token_from_the_page_is_accepted(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.patient.user)
    page = text(client.get(NEW))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(NEW, {**compose_data(world), "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_help_page_is_public_and_says_what_messaging_is_not_for():
    response = Client().get("/help/messaging")
    page = text(response)
    assert response.status_code == 200
    assert "call 911" in page and "on behalf of" in page


def test_home_and_header_show_the_unread_count(world, thread):
    page = text(client_of(world.c1.user).get("/"))
    assert 'href="/messages/"' in page
    assert "You have <strong>1 unread</strong> message." in page
    assert '<span class="badge badge-unread">1<span class="visually-hidden"> unread</span>' in page


def test_no_phi_in_links(world, thread):
    """Links and form targets on the pages hold UUIDs only: no names, no MRNs."""
    for who, url in (
        ("patient", INBOX),
        ("c1", INBOX),
        ("c1", thread_url(thread)),
        ("c1", f"/patients/{world.patient.uuid}/messages"),
    ):
        page = text(client_of(getattr(world, who).user).get(url))
        for target in re.findall(r'(?:href|action|hx-post)="([^"]*)"', page):
            assert "RFM" not in target and "Lopez" not in target and "Knee" not in target, target

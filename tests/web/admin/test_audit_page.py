"""``/practice/audit``: the audit report page for a practice's auditors. Only an active auditor
membership opens it (everyone else: the same 404 as a missing page); it shows the practice's
events with people and patients by name, filters, sorts and pages them, exports the filtered set
as CSV after a fresh re-authentication, shows the hash chain's status, and audits its own
viewing and exporting with the filters as codes and UUIDs."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from support.reauth import freshly_signed_in as fresh
from support.world import client_of

from carethread.accounts import audit_queries
from carethread.audit import codes
from carethread.audit.actions import record
from carethread.audit.models import AuditEvent
from carethread.core.models import Membership

pytestmark = pytest.mark.django_db
URL = "/practice/audit"
ROUTES = (("get", URL), ("get", URL + "/export"), ("post", URL + "/verify"))


def make_auditor(practitioner, org, *, active=True) -> None:
    Membership.objects.filter(practitioner=practitioner, organization=org).update(
        is_auditor=True, active=active
    )


@pytest.fixture
def trail(world):
    """c2 audits Riverside. Events: c1 reads the patient's thread, the other patient signs in
    from 203.0.113.9, a failed sign-in of staff, and Hillside's clinician reads its patient."""
    make_auditor(world.c2, world.org)
    record(codes.THREAD_VIEW, actor=world.c1.user, patient=world.patient, object_id="t-1")
    record(codes.AUTH_LOGIN, actor=world.other_patient.user, details={"method": "password"})
    record(
        codes.AUTH_LOGIN_FAILED,
        actor=world.staff.user,
        outcome=AuditEvent.Outcome.FAILURE,
    )
    record(codes.THREAD_VIEW, actor=world.outsider.user, patient=world.outside_patient)
    return world


def addressed(world):
    """An event with a client address (``record`` reads it from the request)."""
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    return record(codes.MESSAGE_READ, actor=world.other_patient.user, request=request)


def seqs(page: str) -> list[int]:
    marker = 'data-seq="'
    found, start = [], page.find(marker)
    while start != -1:
        start += len(marker)
        found.append(int(page[start : page.index('"', start)]))
        start = page.find(marker, start)
    return found


@pytest.mark.parametrize("who", ["c1", "staff", "outsider", "patient"])
def test_everyone_but_an_auditor_gets_the_404(trail, who):
    """Admins (c1 is not one here, make it one), staff, another practice's clinician and a
    patient: the house's 404 on every route."""
    user = getattr(trail, who).user
    if who == "c1":
        Membership.objects.filter(practitioner=trail.c1).update(is_admin=True)
    client = fresh(user)
    for method, url in ROUTES:
        assert getattr(client, method)(url).status_code == 404, url


def test_an_inactive_auditor_membership_is_not_enough(trail):
    make_auditor(trail.c2, trail.org, active=False)
    assert fresh(trail.c2.user).get(URL).status_code == 404


def test_anonymous_is_sent_to_sign_in(trail):
    assert Client().get(URL).status_code == 302


def test_the_practice_events_by_name_and_no_others(trail):
    page = fresh(trail.c2.user).get(URL).content.decode()
    assert "Dr Rivera" in page and "Pat Lopez" in page  # c1 and the patient, by name
    assert "Pat Smith" in page  # the other patient signing in
    assert "auth.login_failed" in page
    assert "Pat Far" not in page and "Dr Hill" not in page  # Hillside's
    outside = AuditEvent.objects.get(actor_id=trail.outsider.user.pk)
    assert outside.seq not in seqs(page)


def test_viewing_is_audited_with_the_filters_as_codes(trail):
    client = fresh(trail.c2.user)
    response = client.get(URL, {"patient": str(trail.patient.uuid), "action": "thread.view"})
    assert response.status_code == 200
    event = AuditEvent.objects.filter(action=codes.AUDIT_REPORT_VIEWED).get()
    assert event.actor_id == trail.c2.user.pk and event.patient_id == trail.patient.pk
    assert event.details["filters"] == {
        "patient": str(trail.patient.uuid),
        "action": "thread.view",
    }
    assert "Lopez" not in str(event.details)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"action": "auth.login_failed"}, ["staff"]),
        ({"outcome": "failure"}, ["staff"]),
        ({"action": "thread.view"}, ["c1"]),
    ],
)
def test_filters(trail, params, expected):
    page = fresh(trail.c2.user).get(URL, params).content.decode()
    actors = {e.seq: e.actor_id for e in AuditEvent.objects.all()}
    wanted = {getattr(trail, name).user.pk for name in expected}
    shown = seqs(page)
    assert shown and {actors[s] for s in shown} == wanted


def test_user_patient_and_address_filters(trail):
    event = addressed(trail)
    client = fresh(trail.c2.user)
    by_address = seqs(client.get(URL, {"address": "203.0.113.9"}).content.decode())
    assert by_address == [event.seq]
    by_user = seqs(client.get(URL, {"user": str(trail.other_patient.user.uuid)}).content.decode())
    assert event.seq in by_user and all(
        AuditEvent.objects.get(seq=s).actor_id == trail.other_patient.user.pk for s in by_user
    )
    by_patient = seqs(client.get(URL, {"patient": str(trail.patient.uuid)}).content.decode())
    assert {AuditEvent.objects.get(seq=s).patient_id for s in by_patient} == {trail.patient.pk}


def test_a_period_with_nothing_in_it(trail):
    page = fresh(trail.c2.user).get(URL, {"start": "2000-01-01", "end": "2000-01-31"})
    assert page.status_code == 200 and seqs(page.content.decode()) == []


@pytest.mark.parametrize(
    "params",
    [
        {"address": "not an address"},
        {"end": "2020-01-01", "start": "2021-01-01"},
        {"patient": "6a0c6a4e-1111-4222-8333-444455556666"},
        {"user": "6a0c6a4e-1111-4222-8333-444455556666"},
        {"sort": "secret"},
        {"page": "0"},
    ],
)
def test_bad_filters_are_shown_beside_the_field_and_nothing_is_written(trail, params):
    client = fresh(trail.c2.user)
    before = AuditEvent.objects.count()
    response = client.get(URL, params)
    assert response.status_code == 400
    assert 'class="error-summary"' in response.content.decode()
    assert AuditEvent.objects.count() == before


def test_another_practices_patient_is_not_a_filter(trail):
    response = fresh(trail.c2.user).get(URL, {"patient": str(trail.outside_patient.uuid)})
    assert response.status_code == 400


@pytest.mark.parametrize("column", sorted(audit_queries.SORTS))
def test_every_column_sorts_both_ways(trail, column):
    client = fresh(trail.c2.user)
    before = set(AuditEvent.objects.values_list("seq", flat=True))
    up = [s for s in seqs(client.get(URL, {"sort": column}).content.decode()) if s in before]
    down = [
        s for s in seqs(client.get(URL, {"sort": f"-{column}"}).content.decode()) if s in before
    ]
    assert sorted(up) == sorted(down) and len(up) >= 3
    if column in ("seq", "time"):
        assert up == sorted(up) and down == sorted(up, reverse=True)


def test_sorting_by_user_name(trail):
    page = fresh(trail.c2.user).get(URL, {"sort": "user", "action": "thread.view"})
    assert page.status_code == 200


def test_paging(trail, monkeypatch):
    monkeypatch.setattr(audit_queries, "PAGE_SIZE", 2)
    for _ in range(3):
        record(codes.THREAD_VIEW, actor=trail.c1.user, patient=trail.patient)
    client = fresh(trail.c2.user)
    mine = {"user": str(trail.c1.user.uuid)}
    first = client.get(URL, mine).content.decode()
    assert len(seqs(first)) == 2 and 'rel="next"' in first
    second = seqs(client.get(URL, {**mine, "page": "2"}).content.decode())
    assert second and max(second) < min(seqs(first))


def test_the_page_query_count_is_fixed(trail, django_assert_num_queries):
    client = fresh(trail.c2.user)
    client.get(URL)
    for _ in range(30):
        record(codes.THREAD_VIEW, actor=trail.c1.user, patient=trail.patient)
    # session, user and practitioner, the gate, the chain head, the last verification, the
    # page; the viewing's entry (the actor's role, lock, insert, head, in a savepoint); the
    # page's users (with representatives) and patients; the layout's role, rights and unread
    # count; the filter's users and patients: the same whatever the number of rows
    with django_assert_num_queries(23):
        assert client.get(URL).status_code == 200


def test_export_needs_a_fresh_reauthentication(trail):
    client = client_of(trail.c2.user)
    response = client.get(URL + "/export")
    assert response.status_code == 302 and "reauthenticate" in response["Location"]
    assert not AuditEvent.objects.filter(action=codes.AUDIT_REPORT_EXPORTED).exists()


def test_export_streams_the_filtered_set_by_name_and_is_audited(trail):
    response = fresh(trail.c2.user).get(
        URL + "/export", {"patient": str(trail.patient.uuid), "sort": "seq"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows and {r["patient"] for r in rows} == {"Pat Lopez"}
    assert {r["patient_mrn"] for r in rows} == {"RFM-1001"}
    viewed = [r for r in rows if r["action"] == "thread.view"]
    assert viewed and viewed[0]["user"] == "Dr Rivera"
    assert viewed[0]["user_id"] == str(trail.c1.user.uuid)
    event = AuditEvent.objects.get(action=codes.AUDIT_REPORT_EXPORTED)
    assert event.patient_id == trail.patient.pk
    assert event.details["filters"] == {"patient": str(trail.patient.uuid)}


def test_chain_status_unchecked_then_verified(trail):
    client = fresh(trail.c2.user)
    assert 'data-chain-state="unchecked"' in client.get(URL).content.decode()
    response = client.post(URL + "/verify")
    assert response.status_code == 302
    page = client.get(URL).content.decode()
    assert 'data-chain-state="verified"' in page
    verified = AuditEvent.objects.get(action=codes.AUDIT_VERIFY)
    assert f"verified up to entry {verified.seq}" in page


def test_a_failed_verification_names_the_first_broken_entry(trail):
    client = fresh(trail.c2.user)
    client.post(URL + "/verify")
    record(
        codes.AUDIT_VERIFY,
        outcome=AuditEvent.Outcome.FAILURE,
        details={"entries": 2, "problem": "changed", "seq": 3},
        actor_label="cli:root",
        actor_role="operator",
    )
    page = client.get(URL).content.decode()
    assert 'data-chain-state="broken"' in page and "at entry 3 (changed)" in page

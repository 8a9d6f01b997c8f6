"""``carethread import`` of Communication and Group: what lands where, threads, organisations,
errors (all listed, nothing written), idempotency, order across files (docs/import.md, "Secure
messages")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from carethread.accounts import actions as accounts
from carethread.audit.models import AuditEvent
from carethread.core.fhir_import import ImportFailed, import_paths, import_resources
from carethread.core.models import CareTeamPool, Organization, Patient, Practitioner, Representative
from carethread.messaging import queries
from carethread.messaging.access import access_thread, viewer_for
from carethread.messaging.models import (
    Attachment,
    Message,
    Recipient,
    Thread,
    ThreadMember,
)
from tests.core.import_helpers import run_cli
from tests.messaging.fhir_helpers import (
    PDF,
    PNG,
    attachment,
    communication,
    encounter,
    on_behalf_of,
    patient,
    practice,
    practitioner,
    ref,
    role,
    write_ndjson,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MESSAGING = (Thread, Message, Recipient, Attachment, ThreadMember)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def conversation() -> list[dict[str, Any]]:
    """Six messages about p1 covering every element the importer reads."""
    return [
        communication(
            "m1",
            identifier="MSG-1",
            topic={"text": "Refill please"},
            category=[
                {"coding": [{"system": "urn:carethread:message-category", "code": "refill"}]}
            ],
            payload=[{"contentString": "First part."}, {"contentString": "Second part."}],
        ),
        communication(
            "m2",
            identifier="MSG-2",
            sender="Practitioner/c1",
            recipients=("Patient/p1", "RelatedPerson/rp1"),
            sent="2024-03-02T10:00:00-05:00",
            inResponseTo=[ref("Communication", "m1")],
            text="Sent to your pharmacy.",
        ),
        communication(
            "m3",
            sender="Practitioner/s1",
            recipients=("Patient/p1",),
            sent="2024-03-03T09:00:00-05:00",
            extension=on_behalf_of("c1"),
            text="Your results are normal.",
        ),
        communication(
            "m4",
            identifier="MSG-4",
            sender="RelatedPerson/rp1",
            recipients=("Group/refills",),
            sent="2024-03-04T20:15:30+01:00",
            category=[{"text": "Prescription refill"}],
            payload=[
                {"contentString": "Scan attached."},
                attachment(PDF, "scan.pdf"),
                {
                    "contentAttachment": {
                        "contentType": "image/png",
                        "url": "https://files.example.org/secret/abc",
                        "title": "x-ray.png",
                    }
                },
                {"contentReference": {"display": "not read"}},
            ],
        ),
        communication(
            "m5",
            identifier="MSG-5",
            sender="Practitioner/c1",
            recipients=("Practitioner/c2", "Patient/p1"),
            sent="2024-03-05T10:00:00Z",
            topic={"text": "Second opinion"},
        ),
        communication(
            "m6",
            identifier="MSG-6",
            sender="PractitionerRole/c1-riverside",
            recipients=("PractitionerRole/c2-riverside",),
            sent="2024-03-06T10:00:00Z",
        ),
    ]


def message(identifier: str) -> Message:
    return Message.objects.select_related("thread").get(identifier=identifier)


def snapshot() -> dict[str, list[dict[str, Any]]]:
    return {m.__name__: list(m.objects.order_by("pk").values()) for m in MESSAGING}


def source(key: str) -> Any:
    for model in (Practitioner, Patient, Representative, CareTeamPool):
        row = model.objects.filter(source_key=key).first()
        if row is not None:
            return row
    raise AssertionError(key)


# -- mapping --------------------------------------------------------------------------------------


def test_every_element_is_mapped() -> None:
    summary = import_resources([*practice(), *conversation()])
    assert (summary.counts["Communication"].created, summary.counts["Group"].created) == (6, 1)
    riverside = Organization.objects.get(tin="271234567")
    c1, c2, s1 = (source(f"Practitioner/{k}") for k in ("c1", "c2", "s1"))
    p1, rp1 = source("Patient/p1"), source("RelatedPerson/rp1")
    refills = CareTeamPool.objects.get()

    m1 = message("MSG-1")
    assert (m1.status, m1.sender_kind, m1.sender_patient, m1.source_key) == (
        "completed",
        "patient",
        p1,
        "Communication/m1",
    )
    assert m1.sent_at == dt.datetime(2024, 3, 1, 15, tzinfo=UTC)
    assert m1.unseal("body_ct") == "First part.\n\nSecond part."
    assert b"First part" not in bytes(m1.body_ct)
    assert [(r.kind, r.practitioner) for r in m1.recipients.all()] == [("practitioner", c1)]
    assert m1.author is None and m1.in_response_to is None

    m2 = message("MSG-2")
    assert (m2.sender_kind, m2.sender_practitioner, m2.in_response_to) == ("practitioner", c1, m1)
    assert m2.thread == m1.thread
    assert sorted((r.kind, r.patient_id, r.representative_id) for r in m2.recipients.all()) == [
        ("patient", p1.pk, None),
        ("representative", None, rp1.pk),
    ]
    t1 = m1.thread
    assert (t1.organization, t1.patient, t1.kind, t1.started_by, t1.category) == (
        riverside,
        p1,
        "patient",
        "patient",
        "refill",
    )
    assert t1.unseal("subject_ct") == "Refill please"
    assert (t1.created_at, t1.last_message_at) == (m1.sent_at, m2.sent_at)
    assert (t1.awaiting_reply_since, t1.reply_due_at, t1.assignee, t1.pool) == (None,) * 4
    assert t1.includes_patient and t1.source_key == "Communication/m1"

    m3 = message("Communication/m3")  # no identifier: "Communication/<id>"
    assert (m3.sender_practitioner, m3.on_behalf_of) == (s1, c1)
    t3 = m3.thread
    assert (t3.started_by, t3.assignee, t3.kind, t3.unseal("subject_ct")) == (
        "practice",
        c1,
        "patient",
        "Secure message",
    )

    m4 = message("MSG-4")
    assert (m4.sender_kind, m4.sender_representative) == ("representative", rp1)
    assert m4.sent_at == dt.datetime(2024, 3, 4, 19, 15, 30, tzinfo=UTC)
    assert [(r.kind, r.pool) for r in m4.recipients.all()] == [("pool", refills)]
    t4 = m4.thread
    assert (t4.pool, t4.organization, t4.started_by, t4.category) == (
        refills,
        riverside,
        "representative",
        "refill",
    )
    assert t4.awaiting_reply_since == m4.sent_at
    assert t4.reply_due_at == m4.sent_at + dt.timedelta(hours=riverside.expected_response_hours)
    files = {a.unseal("filename_ct"): a for a in m4.attachments.all()}
    assert set(files) == {"scan.pdf", "x-ray.png"}
    pdf, linked = files["scan.pdf"], files["x-ray.png"]
    assert (pdf.content_type, pdf.size, pdf.unseal_bytes("data_ct")) == (
        "application/pdf",
        len(PDF),
        PDF,
    )
    # A URL-only attachment keeps its title and declared type; the URL is not kept anywhere.
    assert (linked.content_type, linked.size, linked.unseal_bytes("data_ct")) == (
        "image/png",
        0,
        b"",
    )
    assert m4.unseal("body_ct") == "Scan attached."
    assert "files.example.org" not in str(snapshot())

    m5 = message("MSG-5")
    assert (m5.thread.kind, m5.thread.includes_patient, m5.thread.started_by) == (
        "clinical",
        True,
        "practice",
    )
    assert m5.thread.assignee is None
    m6 = message("MSG-6")  # PractitionerRoles stand for their practitioners
    assert (m6.sender_practitioner, [r.practitioner for r in m6.recipients.all()]) == (c1, [c2])
    assert (m6.thread.kind, m6.thread.includes_patient) == ("clinical", False)
    assert Thread.objects.count() == 5


def test_statuses_are_stored_as_they_are_and_only_completed_ones_await_a_reply() -> None:
    import_resources(
        [
            *practice(),
            communication("m1", status="entered-in-error", identifier="A", topic={"text": "t"}),
            communication(
                "m2",
                status="preparation",
                sender=None,
                sent=None,
                identifier="B",
                topic={"text": "t"},
            ),
            communication("m3", status="in-progress", identifier="C", sent=None),
        ]
    )
    assert dict(Message.objects.values_list("identifier", "status")) == {
        "A": "entered-in-error",
        "B": "preparation",
        "C": "in-progress",
    }
    b = message("B")
    assert (b.sender_kind, b.sent_at, b.sender_patient) == ("system", None, None)
    thread = b.thread
    assert message("A").thread == thread
    # A retracted message still moved the thread's clock but awaits no answer.
    assert (thread.last_message_at, thread.awaiting_reply_since) == (message("A").sent_at, None)


@pytest.mark.parametrize(
    ("coding", "expected"),
    [
        ({"coding": [{"code": "medical"}]}, "medical"),
        ({"coding": [{"system": "x", "code": "A1", "display": "Appointment"}]}, "appointment"),
        ({"text": "Request to amend my record"}, "amend-record"),
        ({"coding": [{"code": "alert"}], "text": "Alert"}, "other"),
    ],
)
def test_category_is_mapped_when_a_code_or_text_matches(coding: Any, expected: str) -> None:
    import_resources([*practice(), communication("m1", category=[coding])])
    assert Thread.objects.get().category == expected


# -- threads and organisations ----------------------------------------------------------------


def test_topic_part_of_and_in_response_to_thread_messages() -> None:
    import_resources(
        [
            *practice(),
            communication("a1", topic={"text": "Knee"}),
            communication("a2", topic={"text": " Knee "}, sent="2024-03-02T10:00:00Z"),
            communication(
                "b1",
                subject="p2",
                sender="Patient/p2",
                recipients=("Practitioner/c2",),
                topic={"text": "Knee"},
            ),
            communication("c1", topic={"text": "Other"}),
            communication(
                "c2",
                sender="Practitioner/c1",
                recipients=("Patient/p1",),
                partOf=[
                    ref("Communication", "c1"),
                    {"display": "not read"},
                    ref("Observation", "x"),
                ],
            ),
            communication("d1"),
            communication(
                "d2",
                sender="Practitioner/c1",
                recipients=("Patient/p1",),
                inResponseTo=[ref("Communication", "d1")],
            ),
        ]
    )
    thread = {m.source_key: m.thread_id for m in Message.objects.all()}
    assert thread["Communication/a1"] == thread["Communication/a2"]
    assert thread["Communication/b1"] != thread["Communication/a1"]  # another patient
    assert thread["Communication/c1"] == thread["Communication/c2"]
    assert thread["Communication/d1"] == thread["Communication/d2"]
    assert len(set(thread.values())) == 4


def test_replies_join_threads_of_an_earlier_import() -> None:
    import_resources([*practice(), communication("m1", identifier="Q")])
    thread = message("Q").thread
    assert thread.awaiting_reply_since is not None
    version = thread.version
    import_resources(
        [
            communication(
                "m2",
                identifier="A",
                sender="Practitioner/c1",
                recipients=("Patient/p1",),
                sent="2024-03-04T10:00:00Z",
                inResponseTo=[ref("Communication", "m1")],
            )
        ]
    )
    answer = message("A")
    thread.refresh_from_db()
    assert (answer.thread, answer.in_response_to) == (thread, message("Q"))
    assert thread.awaiting_reply_since is None and thread.reply_due_at is None
    assert thread.last_message_at == answer.sent_at and thread.version == version + 1


def test_resources_may_come_in_any_order_across_files(tmp_path: Path) -> None:
    """Replies before the messages they answer, messages before the people they name."""
    resources = practice()
    messages = conversation()
    write_ndjson(tmp_path / "a-replies.ndjson", messages[::-1])
    write_ndjson(tmp_path / "b-people.ndjson", resources[::-1])
    import_paths([tmp_path])
    ordered = snapshot()
    assert Message.objects.count() == 6
    assert message("MSG-2").in_response_to == message("MSG-1")
    Thread.objects.all().delete()
    import_resources([*practice(), *conversation()])
    again = snapshot()
    strip = ("id", "uuid", "thread_id", "message_id", "in_response_to_id", "created_at")
    for name in ("Thread", "Message", "Recipient"):
        mine = [
            {k: v for k, v in row.items() if k not in strip and not k.endswith("_ct")}
            for row in ordered[name]
        ]
        theirs = [
            {k: v for k, v in row.items() if k not in strip and not k.endswith("_ct")}
            for row in again[name]
        ]
        assert sorted(map(repr, mine)) == sorted(map(repr, theirs)), name


def test_organisation_of_a_thread() -> None:
    import_resources(
        [
            *practice(),
            practitioner("c3", "Kim", "123456791"),
            role("c3-lakeside", "c3", "lakeside"),
            patient("p4", "XX-4001", "lakeside"),
            encounter("e4", "c3", "p4", "lakeside", "2024-01-05T09:00:00Z"),
            encounter("e5", "c2", "p4", "riverside", "2024-02-05T09:00:00Z"),
            encounter("e6", "c2", "p4", "lakeside", "2024-04-05T09:00:00Z"),
            # c2 practises in both; p2 was seen at Lakeside only.
            communication("k1", subject="p2", sender="Practitioner/c2", recipients=("Patient/p2",)),
            # p4 was seen by c2 at Riverside before the message and at Lakeside after it.
            communication("k2", subject="p4", sender="Practitioner/c2", recipients=("Patient/p4",)),
            # No practitioner: the pool's practice wins over the managing one (Lakeside).
            communication("k3", subject="p4", sender="Patient/p4", recipients=("Group/refills",)),
            # No visit, no managing organisation: c1's only practice.
            communication("k4", subject="p3", sender="Practitioner/c1", recipients=("Patient/p3",)),
            # Managing organisation when the practitioners did not see the patient.
            communication("k5", subject="p2", sender="Practitioner/c1", recipients=("Patient/p2",)),
        ]
    )
    tin = {
        m.source_key: m.thread.organization.tin
        for m in Message.objects.select_related("thread__organization")
    }
    assert tin == {
        "Communication/k1": "271234568",
        "Communication/k2": "271234567",
        "Communication/k3": "271234567",
        "Communication/k4": "271234567",
        "Communication/k5": "271234568",
    }
    assert message("Communication/k3").thread.pool == CareTeamPool.objects.get()


# -- pools ----------------------------------------------------------------------------------------


def test_group_becomes_a_pool_with_its_members() -> None:
    resources = practice()
    resources[-1]["member"].append({"entity": ref("PractitionerRole", "c2-riverside")})
    resources[-1]["member"].append({"entity": ref("Practitioner", "s1"), "inactive": True})
    import_resources(resources)
    pool = CareTeamPool.objects.get()
    assert (pool.name, pool.organization.tin, pool.active, pool.source_key) == (
        "Refills",
        "271234567",
        True,
        "Group/refills",
    )
    assert sorted(p.source_key for p in pool.members.all()) == [
        "Practitioner/c1",
        "Practitioner/c2",
        "Practitioner/s1",
    ]
    resources[-1]["member"] = [{"entity": ref("Practitioner", "c1")}]
    summary = import_resources(resources)
    assert summary.counts["Group"].updated == 1
    assert [p.source_key for p in pool.members.all()] == ["Practitioner/c1"]


def test_group_matches_an_existing_pool_by_practice_and_name() -> None:
    import_resources(practice()[:-1])
    riverside = Organization.objects.get(tin="271234567")
    made = CareTeamPool.objects.create(organization=riverside, name="Refills", description="Kept")
    import_resources(practice())
    pool = CareTeamPool.objects.get()
    assert (pool.pk, pool.description, pool.source_key) == (made.pk, "Kept", "Group/refills")


# -- inbox rows -----------------------------------------------------------------------------------


def test_logins_that_take_part_see_the_threads() -> None:
    import_resources(practice())
    password = "a-long-test-password"
    users = {
        name: accounts.create_user(f"{name}@x.example.org", password, **link)
        for name, link in (
            ("c1", {"practitioner": source("Practitioner/c1")}),
            ("s1", {"practitioner": source("Practitioner/s1")}),
            ("p1", {"patient": source("Patient/p1")}),
            ("rp1", {"representatives": [source("RelatedPerson/rp1")]}),
        )
    }
    import_resources(conversation())
    members = {
        (m.thread.source_key, m.user_id): (m.side, m.unread)
        for m in ThreadMember.objects.select_related("thread")
    }
    uid = {k: u.pk for k, u in users.items()}
    assert members[("Communication/m1", uid["p1"])] == ("patient", 0)
    assert members[("Communication/m1", uid["rp1"])] == ("representative", 0)
    assert members[("Communication/m1", uid["c1"])] == ("practice", 0)
    assert members[("Communication/m3", uid["s1"])] == ("practice", 0)
    assert members[("Communication/m4", uid["s1"])] == ("practice", 0)  # pool member
    # The clinicians-only thread has no patient-side inbox rows.
    assert ("Communication/m6", uid["p1"]) not in members
    assert ("Communication/m6", uid["c1"]) in members
    mine = queries.inbox(viewer_for(users["p1"]), queries.InboxFilter(box="mine"))
    assert {row.thread.source_key for row in mine} == {
        "Communication/m1",
        "Communication/m3",
        "Communication/m4",
        "Communication/m5",
    }
    access_thread(users["rp1"], message("MSG-4").thread.uuid)
    assert ThreadMember.objects.filter(unread__gt=0).count() == 0


# -- idempotency ----------------------------------------------------------------------------------


def test_importing_the_same_messages_again_changes_nothing() -> None:
    resources = [*practice(), *conversation()]
    import_resources(resources)
    before = snapshot()
    summary = import_resources(resources)
    assert summary.counts["Communication"].unchanged == 6
    assert (summary.counts["Communication"].created, summary.counts["Communication"].updated) == (
        0,
        0,
    )
    assert snapshot() == before


def test_a_changed_message_is_updated_in_place() -> None:
    resources = [*practice(), *conversation()]
    import_resources(resources)
    stored = message("MSG-2")
    resources[-5] = {
        **resources[-5],
        "status": "entered-in-error",
        "payload": [{"contentString": "Corrected."}],
    }
    summary = import_resources(resources)
    assert (summary.counts["Communication"].updated, summary.counts["Communication"].unchanged) == (
        1,
        5,
    )
    changed = message("MSG-2")
    assert (changed.pk, changed.status, changed.unseal("body_ct")) == (
        stored.pk,
        "entered-in-error",
        "Corrected.",
    )
    # Without its completed answer, the patient's question awaits a reply again.
    assert changed.thread.awaiting_reply_since == message("MSG-1").sent_at


def test_matched_by_identifier_else_by_id() -> None:
    import_resources([*practice(), communication("m1", identifier="Q")])
    summary = import_resources([communication("renamed", identifier="Q")])
    assert summary.counts["Communication"].unchanged == 1
    assert Message.objects.get().source_key == "Communication/m1"
    import_resources([communication("m2", identifier="R")])
    with pytest.raises(ImportFailed) as failed:
        import_resources([communication("m2", identifier="Q")])
    assert [e.message for e in failed.value.errors] == [
        "matches one stored message by identifier and another by its id"
    ]


def test_one_audit_event_with_counts_only() -> None:
    import_resources([*practice(), *conversation()])
    event = AuditEvent.objects.filter(action="fhir.import").get()
    assert event.details["created"]["Communication"] == 6
    assert event.details["created"]["Group"] == 1
    text = str(event.details)
    for secret in ("Refill please", "First part", "scan.pdf", "RFM-1001"):
        assert secret not in text


# -- errors ---------------------------------------------------------------------------------------

SENT_ZONE = "sent must be a date and time with a time zone (e.g. 2024-03-01T09:30:00Z)"
NOT_FOUND = "is not in the input nor imported before"
SENDER_TYPES = "Patient or RelatedPerson or Practitioner or PractitionerRole"
OBO = "extension urn:carethread:on-behalf-of"
ATTACHMENT = "payload[0].contentAttachment"
UNKNOWN_ORG = (
    "the thread's organisation cannot be determined: no practitioner on it belongs to a "
    "practice that saw the patient, no pool is addressed, the patient has no "
    "managingOrganization"
)
BAD = [
    (communication("e01", subject="p9"), f"subject Patient/p9 {NOT_FOUND}"),
    (
        {**communication("e02"), "subject": None},
        "subject (the patient) is missing",
    ),
    (communication("e03", sender=None), "sender is missing (required when status is completed)"),
    (
        {**communication("e03b"), "sender": {"identifier": {"value": "3456"}}},
        "sender has no reference (identifier-only references are not read)",
    ),
    (communication("e04", sent=None), "sent is missing (required when status is completed)"),
    (communication("e05", sent="2024-03-01"), SENT_ZONE),
    (
        communication("e06", sent="2024-03-01T10:00:00"),
        "sent is not a FHIR dateTime (a time needs seconds and a zone)",
    ),
    (communication("e07", sent="2023-02-30T10:00:00Z"), "sent is not a valid date and time"),
    (communication("e08", recipients=()), "recipient is missing (at least one is needed)"),
    (
        communication("e09", sender="Device/d1"),
        f"sender must reference {SENDER_TYPES}, not Device/d1",
    ),
    (
        communication("e10", recipients=("Patient/p2",)),
        "recipient Patient/p2 is not the subject patient",
    ),
    (
        communication(
            "e11", subject="p2", sender="RelatedPerson/rp1", recipients=("Practitioner/c2",)
        ),
        "sender RelatedPerson/rp1 is not a representative of the subject patient",
    ),
    (
        communication("e12", extension=on_behalf_of("c1")),
        f"{OBO} is read only when a practitioner sends",
    ),
    (
        communication(
            "e13",
            sender="Practitioner/c1",
            recipients=("Patient/p1",),
            extension=on_behalf_of("c1"),
        ),
        f"{OBO} names the sender itself",
    ),
    (
        communication("e14", payload=[{"contentAttachment": {"data": "%%%"}}]),
        f"{ATTACHMENT}.data is not valid base64",
    ),
    (
        communication("e15", payload=[attachment(b"MZ\x90\x00\x03\x00binary")]),
        f"{ATTACHMENT}: the content is not an accepted file type "
        "(PDF, PNG, JPEG, GIF, TIFF or plain text)",
    ),
    (
        communication("e16", payload=[{"contentAttachment": {"title": "x"}}]),
        f"{ATTACHMENT} has neither data nor url",
    ),
    (
        communication("e16b", payload=[attachment(b"plain words", "notes.pdf")]),
        f"{ATTACHMENT}.title has an extension that does not match its content (text/plain)",
    ),
    (communication("e17", status="sent"), "status 'sent' is not a Communication status"),
    (
        communication("e18", inResponseTo=[ref("Communication", "nope")]),
        f"inResponseTo Communication/nope {NOT_FOUND}",
    ),
    (
        communication("e19", subject="p3", sender="Practitioner/c2", recipients=("Patient/p3",)),
        UNKNOWN_ORG,
    ),
    (
        communication("e20", inResponseTo=[ref("Communication", "e20")]),
        "inResponseTo or partOf refers to the message itself",
    ),
    (
        communication("e21", recipients=("Group/refills", "Encounter/e1")),
        f"recipient must reference {SENDER_TYPES} or Group, not Encounter/e1",
    ),
]


def test_every_error_is_listed_and_nothing_is_written() -> None:
    import_resources(practice())
    import_resources([communication("ok", identifier="OK")])
    before = snapshot()
    for resource, expected in BAD:
        with pytest.raises(ImportFailed) as failed:
            import_resources([resource])
        messages = [e.message for e in failed.value.errors]
        assert expected in messages, (resource["id"], messages)
        assert all(e.resource == f"Communication/{resource['id']}" for e in failed.value.errors)
    # All of them at once: every one is reported, nothing is written.
    with pytest.raises(ImportFailed) as failed:
        import_resources([resource for resource, _ in BAD if resource["id"] not in ("e19",)])
    reported = {e.resource for e in failed.value.errors}
    assert reported >= {f"Communication/{r['id']}" for r, _ in BAD if r["id"] not in ("e19",)} - {
        "Communication/e10",
        "Communication/e11",
        "Communication/e12",
        "Communication/e13",
    }
    assert snapshot() == before


def test_a_reply_loop_is_an_error() -> None:
    import_resources(practice())
    with pytest.raises(ImportFailed) as failed:
        import_resources(
            [
                communication("x1", inResponseTo=[ref("Communication", "x2")]),
                communication("x2", inResponseTo=[ref("Communication", "x1")]),
            ]
        )
    assert sorted((e.resource, e.message) for e in failed.value.errors) == [
        ("Communication/x1", "inResponseTo forms a loop"),
        ("Communication/x2", "inResponseTo forms a loop"),
    ]
    assert Message.objects.count() == 0


def test_messages_of_one_thread_are_about_one_patient() -> None:
    import_resources(practice())
    with pytest.raises(ImportFailed) as failed:
        import_resources(
            [
                communication("y1"),
                communication(
                    "y2",
                    subject="p2",
                    sender="Practitioner/c2",
                    recipients=("Patient/p2",),
                    inResponseTo=[ref("Communication", "y1")],
                ),
            ]
        )
    assert [(e.resource, e.message) for e in failed.value.errors] == [
        (
            "Communication/y2",
            "subject is not the patient of the thread this message joins "
            "(through inResponseTo or partOf)",
        )
    ]


def test_attachment_larger_than_the_limit_is_refused(settings: Any) -> None:
    settings.CARETHREAD_ATTACHMENT_MAX_BYTES = 10
    import_resources(practice())
    with pytest.raises(ImportFailed) as failed:
        import_resources([communication("z1", payload=[attachment(PNG)])])
    assert [e.message for e in failed.value.errors] == [
        "payload[0].contentAttachment is larger than the limit of 10 bytes"
    ]


def test_cli_lists_errors_with_file_and_line_and_exits_2(tmp_path: Path, capsys: Any) -> None:
    write_ndjson(tmp_path / "people.ndjson", practice())
    write_ndjson(
        tmp_path / "messages.ndjson",
        [
            communication("ok"),
            communication("bad", sent="2024-03-01"),
            communication("dev", sender="Device/x"),
        ],
    )
    code, out, err = run_cli(capsys, str(tmp_path))
    assert code == 2 and out == ""
    assert (
        f"{tmp_path / 'messages.ndjson'}:2: Communication/bad: sent must be a date and time" in err
    )
    assert f"{tmp_path / 'messages.ndjson'}:3: Communication/dev: sender must reference" in err
    assert Message.objects.count() == 0 and Patient.objects.count() == 0
    # Message text never appears in errors.
    assert "medication" not in err

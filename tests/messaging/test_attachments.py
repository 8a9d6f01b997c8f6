"""Attachment checks and actions: type by content, safe names, limits, encryption, audit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from carethread.audit.models import AuditEvent
from carethread.messaging import actions, attachments, drafts
from carethread.messaging.attachments import detect_type, safe_filename
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Attachment

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xdb\x00\x43\x00"
GIF = b"GIF89a\x01\x00\x01\x00"
TIFF_LE = b"II*\x00\x08\x00\x00\x00"
TIFF_BE = b"MM\x00*\x00\x00\x00\x08"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (b"GIF87a\x01\x00", "image/gif"),
        (TIFF_LE, "image/tiff"),
        (TIFF_BE, "image/tiff"),
        (b"Blood pressure 120/80\r\nWeight 70 kg\t\n", "text/plain"),
        ("Température 37,5 °C — ok\n".encode(), "text/plain"),
        (b"\xef\xbb\xbfWith a byte order mark\n", "text/plain"),
        (b"PK\x03\x04\x14\x00", None),  # ZIP (and docx, xlsx, jar)
        (b"MZ\x90\x00", None),  # Windows executable
        (b"\x7fELF\x02\x01", None),
        (b"#!/bin/sh\nrm -rf /\n\x00", None),
        (b"<html><body>hi</body></html>", None),
        (b"  <!DOCTYPE html>\n<p>x</p>", None),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', None),
        (b"<?xml version='1.0'?><x/>", None),
        (b"<script>alert(1)</script>", None),
        (b"text\x00with NUL", None),
        (b"bell \x07 character", None),
        (b"\xff\xfe\x00t\x00e\x00x\x00t", None),  # UTF-16
        (b"caf\xe9", None),  # Latin-1, not UTF-8
        (b"   \n\t ", None),  # only white space
        (b"%PD", "text/plain"),  # too short to be a PDF: it is just text
    ],
)
def test_detect_type_by_content(data, expected):
    assert detect_type(data) == expected


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("scan.pdf", "application/pdf", "scan.pdf"),
        ("SCAN.PDF", "application/pdf", "SCAN.PDF"),
        ("../../etc/passwd.txt", "text/plain", "passwd.txt"),
        ("C:\\Users\\maria\\photo.jpeg", "image/jpeg", "photo.jpeg"),
        ("photo", "image/jpeg", "photo.jpg"),
        ("", "image/png", "attachment.png"),
        ("...", "application/pdf", "attachment.pdf"),
        (".pdf", "application/pdf", "pdf.pdf"),
        ("scan 2024.03.01", "application/pdf", "scan 2024.03.01.pdf"),
        ("line\nbreak\r.txt", "text/plain", "linebreak.txt"),
        ("evil\u202egnp.pdf", "application/pdf", "evilgnp.pdf"),  # right-to-left override
        ("zero\u200bwidth.png", "image/png", "zerowidth.png"),
        ('a<b>c:d"e|f?g*.txt', "text/plain", "a_b_c_d_e_f_g_.txt"),
        ("  spaced   out  .gif", "image/gif", "spaced out.gif"),
        ("scan.tif", "image/tiff", "scan.tif"),
        ("log.csv", "text/plain", "log.csv"),
    ],
)
def test_safe_filename(name, content_type, expected):
    assert safe_filename(name, content_type) == expected


def test_safe_filename_limits_length_and_keeps_the_extension():
    name = safe_filename("x" * 500 + ".pdf", "application/pdf")
    assert len(name) == attachments.MAX_FILENAME and name.endswith("x.pdf")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("report.pdf", "image/png"),
        ("report.exe", "application/pdf"),
        ("report.pdf.exe", "application/pdf"),
        ("page.html", "text/plain"),
        ("image.svg", "text/plain"),
        ("notes.docx", "text/plain"),
        ("photo.png", "image/jpeg"),
    ],
)
def test_extension_that_contradicts_the_content_is_refused(name, content_type):
    with pytest.raises(MessagingError) as err:
        safe_filename(name, content_type)
    assert err.value.code == "attachment_type" and err.value.status == 415


def test_upload_encrypts_name_and_bytes_and_audits_without_them(world):
    attachment = attachments.upload_attachment(
        world.patient.user, filename="Lopez lab results.pdf", data=PDF
    )
    row = Attachment.objects.get(pk=attachment.pk)
    assert (row.content_type, row.size, row.message) == ("application/pdf", len(PDF), None)
    assert row.uploaded_by == world.patient.user
    assert b"Lopez" not in bytes(row.filename_ct) and PDF not in bytes(row.data_ct)
    assert row.unseal("filename_ct") == "Lopez lab results.pdf"
    assert row.unseal_bytes("data_ct") == PDF
    event = AuditEvent.objects.get(action="attachment.upload")
    assert event.object_id == str(row.uuid) and event.actor_id == world.patient.user.pk
    assert event.details == {"content_type": "application/pdf", "size": len(PDF), "purged": 0}
    assert "Lopez" not in str(event.details)


def test_size_limit(world, settings):
    settings.CARETHREAD_ATTACHMENT_MAX_BYTES = len(PDF)
    attachments.upload_attachment(world.patient.user, filename="ok.pdf", data=PDF)
    with pytest.raises(MessagingError) as err:
        attachments.upload_attachment(world.patient.user, filename="big.pdf", data=PDF + b"\n")
    assert (err.value.code, err.value.status) == ("attachment_too_large", 413)
    assert Attachment.objects.count() == 1


def test_default_limits_are_ten_megabytes_and_five_files(settings):
    from carethread.config import load

    config = load()
    assert config.attachment_max_bytes == 10 * 1024 * 1024
    assert config.attachment_max_count == 5


@pytest.mark.parametrize("data", [b"", "text"])
def test_empty_or_non_bytes_upload_is_refused(world, data):
    with pytest.raises(MessagingError) as err:
        attachments.upload_attachment(world.patient.user, filename="x.pdf", data=data)
    assert err.value.code == "bad_attachment"
    assert not Attachment.objects.exists()


def test_blocked_or_anonymous_uploader_is_refused(world):
    from django.contrib.auth.models import AnonymousUser

    for user in (world.blocked_patient.user, AnonymousUser(), None):
        with pytest.raises(MessagingError) as err:
            attachments.upload_attachment(user, filename="x.pdf", data=PDF)
        assert err.value.code == "not_allowed"
    assert not Attachment.objects.exists()


def test_pending_uploads_are_capped(world, monkeypatch):
    monkeypatch.setattr(attachments, "MAX_PENDING_UPLOADS", 2)
    for n in range(2):
        attachments.upload_attachment(world.patient.user, filename=f"{n}.pdf", data=PDF)
    with pytest.raises(MessagingError) as err:
        attachments.upload_attachment(world.patient.user, filename="3.pdf", data=PDF)
    assert err.value.code == "rate_limited"
    # Someone else is not affected.
    attachments.upload_attachment(world.rep.user, filename="r.pdf", data=PDF)


def test_count_limit_per_message(world, settings):
    settings.CARETHREAD_ATTACHMENT_MAX_COUNT = 2
    uploads = [
        attachments.upload_attachment(world.patient.user, filename=f"{n}.pdf", data=PDF).uuid
        for n in range(3)
    ]
    with pytest.raises(MessagingError) as err:
        actions.start_thread(
            world.patient.user,
            patient=world.patient,
            category="medical",
            subject="Files",
            body="Three files",
            to_practitioners=[world.c1],
            attachments=uploads,
        )
    assert err.value.code == "too_many_attachments"
    assert not Attachment.objects.filter(message__isnull=False).exists()


def age(attachment, days):
    Attachment.objects.filter(pk=attachment.pk).update(
        created_at=timezone.now() - dt.timedelta(days=days)
    )


def test_purge_removes_own_stale_unsent_uploads_only(world):
    user = world.patient.user
    stale = attachments.upload_attachment(user, filename="old.pdf", data=PDF)
    in_draft = attachments.upload_attachment(user, filename="draft.pdf", data=PDF)
    fresh = attachments.upload_attachment(user, filename="new.pdf", data=PDF)
    theirs = attachments.upload_attachment(world.rep.user, filename="rep.pdf", data=PDF)
    sent = attachments.upload_attachment(user, filename="sent.pdf", data=PDF)
    actions.start_thread(
        user,
        patient=world.patient,
        category="medical",
        subject="Scan",
        body="Attached",
        to_practitioners=[world.c1],
        attachments=[sent.uuid],
    )
    drafts.save_draft(
        user, patient=world.patient, body="later", recipients={"attachments": [in_draft.uuid]}
    )
    for row in (stale, in_draft, theirs, sent):
        age(row, 2)
    assert attachments.purge_stale_uploads(user) == 1
    remaining = set(Attachment.objects.values_list("pk", flat=True))
    assert remaining == {in_draft.pk, fresh.pk, theirs.pk, sent.pk}
    event = AuditEvent.objects.get(action="attachment.purge")
    assert event.details == {"count": 1} and event.actor_id == user.pk
    assert attachments.purge_stale_uploads(user) == 0
    assert AuditEvent.objects.filter(action="attachment.purge").count() == 1


def test_upload_purges_stale_uploads_in_the_same_transaction(world):
    old = attachments.upload_attachment(world.patient.user, filename="old.pdf", data=PDF)
    age(old, 3)
    attachments.upload_attachment(world.patient.user, filename="new.pdf", data=PDF)
    assert not Attachment.objects.filter(pk=old.pk).exists()
    event = AuditEvent.objects.filter(action="attachment.upload").order_by("-seq").first()
    assert event.details["purged"] == 1


def test_record_download_names_the_patient_and_message(world):
    upload = attachments.upload_attachment(world.patient.user, filename="x.pdf", data=PDF)
    message = actions.start_thread(
        world.patient.user,
        patient=world.patient,
        category="medical",
        subject="Scan",
        body="Attached",
        to_practitioners=[world.c1],
        attachments=[upload.uuid],
    )
    upload.refresh_from_db()
    attachments.record_download(world.c1.user, upload)
    event = AuditEvent.objects.get(action="attachment.download")
    assert event.patient_id == world.patient.pk
    assert event.details == {"message": str(message.uuid)}
    assert event.object_id == str(upload.uuid)


def test_purge_of_every_uploader_is_the_systems_entry(world):
    """The worker's hourly step: every uploader's stale uploads, whoever they are (a blocked user's
    or a deleted login's too), one entry per uploader with the system as actor."""
    patient, rep = world.patient.user, world.rep.user
    mine = attachments.upload_attachment(patient, filename="old.pdf", data=PDF)
    in_draft = attachments.upload_attachment(patient, filename="draft.pdf", data=PDF)
    fresh = attachments.upload_attachment(patient, filename="new.pdf", data=PDF)
    theirs = attachments.upload_attachment(rep, filename="rep.pdf", data=PDF)
    orphan = attachments.upload_attachment(rep, filename="gone.pdf", data=PDF)
    Attachment.objects.filter(pk=orphan.pk).update(uploaded_by=None)
    drafts.save_draft(
        patient, patient=world.patient, body="later", recipients={"attachments": [in_draft.uuid]}
    )
    for row in (mine, in_draft, theirs, orphan):
        age(row, 2)
    type(rep).objects.filter(pk=rep.pk).update(is_active=False)
    assert attachments.purge_all_stale_uploads() == 3
    assert set(Attachment.objects.values_list("pk", flat=True)) == {in_draft.pk, fresh.pk}
    events = AuditEvent.objects.filter(action="attachment.purge")
    assert {(e.actor_id, e.actor_label, e.object_id) for e in events} == {
        (None, "system", str(patient.uuid)),
        (None, "system", str(rep.uuid)),
        (None, "system", ""),
    }
    assert all(e.details == {"count": 1} for e in events)
    assert attachments.purge_all_stale_uploads() == 0


# The worker closes "old" connections between tasks (as a request would), so this test commits.
@pytest.mark.django_db(transaction=True)
def test_the_worker_round_purges_stale_uploads(world):
    from carethread.notifications.worker import Runner

    stale = attachments.upload_attachment(world.patient.user, filename="old.pdf", data=PDF)
    age(stale, 2)
    Runner(batch=None).round()
    assert not Attachment.objects.filter(pk=stale.pk).exists()

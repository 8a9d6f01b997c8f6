"""Attachments: checking an upload's content, storing it encrypted, auditing downloads.

A file is uploaded first (no message yet) and linked to a message when that message is sent
(``posting.post_message``, which also enforces ``CARETHREAD_ATTACHMENT_MAX_COUNT``).

What is accepted is decided by the bytes, never by the name or the client's content type:
PDF, PNG, JPEG, GIF and TIFF by their magic numbers, and plain text (valid UTF-8, no NUL or
other control bytes, not markup a browser would render). The name's extension must agree with
what was found (``scan.pdf`` holding a ZIP, an executable, HTML or SVG is refused), and the name
is made safe (no folders, no control or direction characters, bounded length) before it is
encrypted with the bytes.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from typing import TYPE_CHECKING
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from carethread.audit import actions as audit
from carethread.audit import codes
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Attachment, Draft

if TYPE_CHECKING:
    from carethread.accounts.models import User
    from carethread.messaging.access import Viewer

TEXT = "text/plain"
# Detected type -> the extensions a file of that type may carry (the first is the canonical one).
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/gif": (".gif",),
    "image/tiff": (".tif", ".tiff"),
    TEXT: (".txt", ".text", ".log", ".csv"),
}
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
# Text a browser would treat as a page or an image if it ever sniffed it.
MARKUP = re.compile(
    rb"^\s*<(?:!doctype|html|head|body|script|iframe|svg|\?xml|!--|object|embed|style|a\s)",
    re.IGNORECASE,
)
# Control bytes allowed in text: tab, line feed, form feed, carriage return.
TEXT_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
UTF8_BOM = b"\xef\xbb\xbf"
# An extension is a dot and 1-8 letters or digits with at least one letter ("x.2024.01" has none).
EXTENSION = re.compile(r"^\.(?=[0-9]*[A-Za-z])[A-Za-z0-9]{1,8}$")
MAX_FILENAME = 120
# Characters that mean something to file systems or shells.
UNSAFE_CHARACTERS = re.compile(r'[<>:"/\\|?*]')
# Uploads not yet sent that one login may hold (per day), so storage cannot be filled.
MAX_PENDING_UPLOADS = 25
STALE_AFTER = dt.timedelta(days=1)


def detect_type(data: bytes) -> str | None:
    """The allow-listed content type ``data`` is, or None."""
    for magic, content_type in MAGIC:
        if data.startswith(magic):
            return content_type
    if _is_plain_text(data):
        return TEXT
    return None


def _is_plain_text(data: bytes) -> bool:
    body = data.removeprefix(UTF8_BOM)
    if not body.strip() or TEXT_CONTROLS.search(body) or MARKUP.match(body):
        return False
    try:
        body.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def served_content_type(content_type: str) -> str:
    """The Content-Type a download is served with."""
    return f"{TEXT}; charset=utf-8" if content_type == TEXT else content_type


def safe_filename(name: str, content_type: str) -> str:
    """A file name safe to store and to offer in Content-Disposition, with an extension that
    agrees with ``content_type``; ``MessagingError("attachment_type")`` when the name's own
    extension contradicts the content."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    # Control, format (e.g. right-to-left override), surrogate, private and unassigned characters.
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    text = UNSAFE_CHARACTERS.sub("_", text)
    text = " ".join(text.split()).strip(" .")
    allowed = EXTENSIONS[content_type]
    stem, dot, suffix = text.rpartition(".")
    extension = f".{suffix}" if dot and stem and EXTENSION.match(f".{suffix}") else ""
    if extension:
        if extension.lower() not in allowed:
            raise MessagingError("attachment_type")
        text = stem.rstrip(" .")
    extension = extension or allowed[0]
    stem = text[: MAX_FILENAME - len(extension)].rstrip(" .") or "attachment"
    return stem + extension


# A client's file name as Django's upload handlers keep it until ``safe_filename`` cleans it.
MAX_UPLOAD_NAME = 200
# Longer than this after the last dot, it is no extension (``EXTENSION`` allows 8 characters).
_MAX_SUFFIX = 16


def upload_name(name: str) -> str:
    """``name`` cut to ``MAX_UPLOAD_NAME`` characters, keeping a plausible extension."""
    if len(name) <= MAX_UPLOAD_NAME:
        return name
    stem, extension = os.path.splitext(name)
    if len(extension) > _MAX_SUFFIX:
        stem, extension = name, ""
    return stem[: MAX_UPLOAD_NAME - len(extension)] + extension


class ShortNameTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Django's handler for uploads past ``FILE_UPLOAD_MAX_MEMORY_SIZE``, which names its
    temporary file after the client's extension: with a name cut short first, a 300-character
    "extension" cannot make that file name too long for the file system (an OSError, a 500)."""

    def new_file(
        self,
        field_name: str,
        file_name: str,
        content_type: str,
        content_length: int | None,
        charset: str | None = None,
        content_type_extra: dict[str, bytes] | None = None,
    ) -> None:
        super().new_file(
            field_name,
            upload_name(file_name),
            content_type,
            content_length,
            charset,
            content_type_extra,
        )


def _check_uploader(user: User | None) -> None:
    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or not user.is_active
        or getattr(user, "blocked_at", None) is not None
    ):
        raise MessagingError("not_allowed")


def check_upload(filename: str, data: bytes) -> tuple[str, str]:
    """(content type, safe file name) of an acceptable upload, else ``MessagingError``."""
    if not isinstance(data, bytes | bytearray):
        raise MessagingError("bad_attachment")
    if len(data) > settings.CARETHREAD_ATTACHMENT_MAX_BYTES:
        raise MessagingError("attachment_too_large")
    if not data:
        raise MessagingError("bad_attachment")
    content_type = detect_type(bytes(data))
    if content_type is None:
        raise MessagingError("attachment_type")
    return content_type, safe_filename(filename, content_type)


def upload_attachment(
    user: User, *, filename: str, data: bytes, request: HttpRequest | None = None
) -> Attachment:
    """Store an upload of ``user`` (not yet attached to a message), encrypted.

    Stale uploads of the same user (unsent for more than a day, in no draft) are removed in the
    same transaction.
    """
    _check_uploader(user)
    content_type, name = check_upload(filename, data)
    now = timezone.now()
    with transaction.atomic():
        purged = _delete_stale(user, now)
        pending = Attachment.objects.filter(
            uploaded_by=user, message__isnull=True, created_at__gte=now - STALE_AFTER
        ).count()
        if pending >= MAX_PENDING_UPLOADS:
            raise MessagingError(
                "rate_limited", "Too many files waiting to be sent; send or remove some first."
            )
        attachment = Attachment(
            uploaded_by=user, content_type=content_type, size=len(data), created_at=now
        )
        attachment.seal("filename_ct", name)
        attachment.seal("data_ct", bytes(data))
        attachment.save(force_insert=True)
        audit.record(
            codes.ATTACHMENT_UPLOAD,
            actor=user,
            request=request,
            obj=attachment,
            details={"content_type": content_type, "size": len(data), "purged": purged},
        )
    return attachment


def record_download(
    user: User,
    attachment: Attachment,
    request: HttpRequest | None = None,
    viewer: Viewer | None = None,
) -> None:
    """The audit entry for a download (call after ``access.access_attachment``, with the viewer
    it returned): with the emergency access's UUID when one opened the thread."""
    message = attachment.message
    details: dict[str, object] = {"message": str(message.uuid) if message is not None else None}
    grant = viewer.emergency_for(message.thread) if viewer and message is not None else None
    if grant is not None:
        details["emergency_access"] = str(grant.uuid)
    with transaction.atomic():
        audit.record(
            codes.ATTACHMENT_DOWNLOAD,
            actor=user,
            request=request,
            patient=message.thread.patient_id if message is not None else None,
            obj=attachment,
            details=details,
        )


def _draft_attachment_ids(user: User | None) -> set[UUID]:
    ids: set[UUID] = set()
    for refs in Draft.objects.filter(author=user).values_list("recipients", flat=True):
        listed = refs.get("attachments") if isinstance(refs, dict) else None
        for item in listed if isinstance(listed, list) else []:
            try:
                ids.add(UUID(str(item)))
            except ValueError:
                continue
    return ids


def _delete_stale(user: User | None, now: dt.datetime) -> int:
    stale = Attachment.objects.filter(
        uploaded_by=user, message__isnull=True, created_at__lt=now - STALE_AFTER
    )
    kept = _draft_attachment_ids(user)
    if kept:
        stale = stale.exclude(uuid__in=list(kept))
    deleted, _ = stale.delete()
    return deleted


def purge_stale_uploads(
    user: User | None, *, request: HttpRequest | None = None, system: bool = False
) -> int:
    """Delete ``user``'s uploads that were never sent and are more than a day old (those a draft
    still lists are kept). Returns how many were deleted.

    ``system``: the worker's purge (``purge_all_stale_uploads``), for any uploader (``None``: a
    deleted login's); the audit entry's actor is the system and ``user`` its object. Otherwise
    the caller purges their own."""
    if not system:
        _check_uploader(user)
    with transaction.atomic():
        deleted = _delete_stale(user, timezone.now())
        if deleted and system:
            audit.record(codes.ATTACHMENT_PURGE, obj=user, details={"count": deleted})
        elif deleted:
            audit.record(
                codes.ATTACHMENT_PURGE, actor=user, request=request, details={"count": deleted}
            )
    return deleted


def purge_all_stale_uploads() -> int:
    """The worker's hourly step (registered in ``MessagingConfig.ready``): ``purge_stale_uploads``
    for every uploader who holds stale uploads, blocked and deactivated users included."""
    stale = Attachment.objects.filter(
        message__isnull=True, created_at__lt=timezone.now() - STALE_AFTER
    )
    uploader_ids = set(stale.values_list("uploaded_by", flat=True).distinct())
    uploaders: list[User | None] = list(
        get_user_model().objects.filter(pk__in=uploader_ids - {None})
    )
    if None in uploader_ids:
        uploaders.append(None)
    return sum(purge_stale_uploads(uploader, system=True) for uploader in uploaders)

"""Communication → messaging.Message (with its Thread, Recipients and Attachments): historical
secure messages, e.g. migrated from an earlier portal.

Read: ``identifier[0].value`` (the message's identifier; "Communication/<id>" when absent),
``status`` (FHIR codes, stored as they are), ``subject`` (Patient), ``sender``, ``recipient``,
``sent``, ``inResponseTo``, ``partOf``, ``topic.text``, ``category``, ``payload`` and the
extension ``urn:carethread:on-behalf-of``. Only structural validity is checked: the live
portal's sending rules do not apply to history. Cross-record checks (threads, organisations)
are in ``plan``; the writing is in ``write``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings

from carethread.core.fhir_import import values
from carethread.core.fhir_import.records import Record
from carethread.messaging import attachments as files
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Category, Message

if TYPE_CHECKING:
    from carethread.core.fhir_import.engine import Importer
    from carethread.core.json import JsonObject, JsonValue
    from carethread.messaging.fhir.plan import MessagePlan

RESOURCE_TYPE = "Communication"
DEPENDS_ON = (
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Patient",
    "RelatedPerson",
    "Encounter",
    "Group",
)
MODEL = Message

ON_BEHALF_OF = "urn:carethread:on-behalf-of"
STATUSES = frozenset(Message.Status.values)
SENDER_TYPES = ("Patient", "RelatedPerson", "Practitioner", "PractitionerRole")
RECIPIENT_TYPES = (*SENDER_TYPES, "Group")
MAX_IDENTIFIER = 128
MAX_BODY = 100_000
MAX_TITLE = 255
MAX_TOPIC = 200
DEFAULT_TITLE = "attachment"
_MIME_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_CATEGORY_WORDS = {
    **{c.value: c.value for c in Category},
    **{c.label.lower(): c.value for c in Category},
    "refill": Category.REFILL,
    "prescription": Category.REFILL,
    "amendment": Category.AMEND,
}


@dataclass(frozen=True, slots=True)
class AttachmentIn:
    """An attachment as read: ``data`` is None for a URL-only attachment (bytes not imported)."""

    title: str
    content_type: str
    data: bytes | None


@dataclass(slots=True, kw_only=True)
class CommunicationRecord(Record):
    identifier: str | None
    status: str
    patient: str
    sender: str | None
    recipients: tuple[str, ...]
    on_behalf_of: str | None
    sent: dt.datetime | None
    in_response_to: tuple[str, ...]
    part_of: tuple[str, ...]
    topic: str
    category: str
    body: str
    attachments: tuple[AttachmentIn, ...]
    # Filled by ``plan.check``: where the message goes and who its people are.
    plan: MessagePlan = field(compare=False, repr=False, init=False)

    @property
    def message_identifier(self) -> str:
        return self.identifier or self.key


def parse(resource: JsonObject, issues: list[str]) -> CommunicationRecord | None:
    identifier = _identifier(resource.get("identifier"), issues)
    status = resource.get("status")
    if status is None:
        issues.append("status is missing")
    elif not isinstance(status, str) or status not in STATUSES:
        issues.append(f"status {status!r} is not a Communication status")
    patient = values.reference(resource.get("subject"), "subject", issues)
    if resource.get("subject") is None:
        issues.append("subject (the patient) is missing")
    sender = values.reference(resource.get("sender"), "sender", issues)
    recipients = _references(resource.get("recipient"), "recipient", issues)
    if not resource.get("recipient"):
        issues.append("recipient is missing (at least one is needed)")
    on_behalf_of = _on_behalf_of(resource.get("extension"), issues)
    sent = _sent(resource.get("sent"), issues)
    if status == Message.Status.COMPLETED:
        if resource.get("sender") is None:
            issues.append("sender is missing (required when status is completed)")
        if resource.get("sent") is None:
            issues.append("sent is missing (required when status is completed)")
    body, attachments = _payload(resource.get("payload"), issues)
    own = f"Communication/{resource.get('id')}"
    in_response_to = _references(resource.get("inResponseTo"), "inResponseTo", issues)
    part_of = _part_of(resource.get("partOf"), issues)
    if own in in_response_to or own in part_of:
        issues.append("inResponseTo or partOf refers to the message itself")
    topic = _topic(resource.get("topic"), issues)
    if issues or not isinstance(status, str) or patient is None:
        return None
    return CommunicationRecord(
        identifier=identifier,
        status=status,
        patient=patient,
        sender=sender,
        recipients=recipients,
        on_behalf_of=on_behalf_of,
        sent=sent,
        in_response_to=in_response_to,
        part_of=part_of,
        topic=topic,
        category=category_of(resource.get("category")),
        body=body,
        attachments=attachments,
    )


def references(record: CommunicationRecord) -> list[tuple[str, str, tuple[str, ...]]]:
    refs: list[tuple[str, str, tuple[str, ...]]] = [("subject", record.patient, ("Patient",))]
    if record.sender is not None:
        refs.append(("sender", record.sender, SENDER_TYPES))
    refs.extend(("recipient", r, RECIPIENT_TYPES) for r in record.recipients)
    if record.on_behalf_of is not None:
        refs.append((f"extension {ON_BEHALF_OF}", record.on_behalf_of, ("Practitioner",)))
    refs.extend(("inResponseTo", r, ("Communication",)) for r in record.in_response_to)
    refs.extend(("partOf", r, ("Communication",)) for r in record.part_of)
    return refs


def business_key(record: CommunicationRecord) -> tuple[str, str] | None:
    return ("identifier", record.identifier) if record.identifier else None


def check(
    records: list[CommunicationRecord], ctx: Importer
) -> list[tuple[CommunicationRecord, str]]:
    from carethread.messaging.fhir import plan

    return plan.check(records, ctx)


def write(records: list[CommunicationRecord], ctx: Importer) -> tuple[int, int]:
    from carethread.messaging.fhir import write as writer

    return writer.write(records, ctx)


# -- elements ------------------------------------------------------------------------------------


def _identifier(value: JsonValue, issues: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list):
        issues.append("identifier must be a list")
        return None
    first = value[0] if value else None
    if first is None:
        return None
    raw = first.get("value") if isinstance(first, dict) else None
    if raw is None:
        return None
    return values.text(raw, "identifier[0].value", issues, MAX_IDENTIFIER) or None


def _references(value: JsonValue, element: str, issues: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        issues.append(f"{element} must be a list of references")
        return ()
    found: list[str] = []
    for index, item in enumerate(value):
        ref = values.reference(item, f"{element}[{index}]", issues)
        if ref is not None and ref not in found:
            found.append(ref)
    return tuple(found)


def _part_of(value: JsonValue, issues: list[str]) -> tuple[str, ...]:
    """``partOf`` entries that are Communications (others, and display-only ones, are not read)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        issues.append("partOf must be a list of references")
        return ()
    found: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or "reference" not in item:
            continue
        ref = values.reference(item, f"partOf[{index}]", issues)
        if ref is None:
            continue
        if (ref.startswith("Communication/") or ref.startswith("urn:")) and ref not in found:
            found.append(ref)
    return tuple(found)


def _sent(value: JsonValue, issues: list[str]) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str) or "T" not in value:
        issues.append("sent must be a date and time with a time zone (e.g. 2024-03-01T09:30:00Z)")
        return None
    return values.datetime(value, "sent", issues)


def _on_behalf_of(value: JsonValue, issues: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list):
        issues.append("extension must be a list")
        return None
    for item in value:
        if isinstance(item, dict) and item.get("url") == ON_BEHALF_OF:
            if "valueReference" not in item:
                issues.append(f"extension {ON_BEHALF_OF} has no valueReference")
                return None
            return values.reference(item["valueReference"], f"extension {ON_BEHALF_OF}", issues)
    return None


def _topic(value: JsonValue, issues: list[str]) -> str:
    if value is None:
        return ""
    if not isinstance(value, dict):
        issues.append("topic must be a CodeableConcept")
        return ""
    text = values.text(value.get("text"), "topic.text", issues, MAX_TOPIC)
    return " ".join(text.split())


def category_of(value: JsonValue) -> str:
    """Our category when a coding's code or display, or the text, names one; else "other"."""
    concepts = value if isinstance(value, list) else [value]
    for concept in concepts:
        if not isinstance(concept, dict):
            continue
        words = [concept.get("text")]
        codings = concept.get("coding")
        for coding in codings if isinstance(codings, list) else ():
            if isinstance(coding, dict):
                words += [coding.get("code"), coding.get("display")]
        for word in words:
            if isinstance(word, str) and word.strip().lower() in _CATEGORY_WORDS:
                return str(_CATEGORY_WORDS[word.strip().lower()])
    return Category.OTHER.value


def _payload(value: JsonValue, issues: list[str]) -> tuple[str, tuple[AttachmentIn, ...]]:
    """The body (every ``contentString``, joined by blank lines) and the attachments;
    ``contentReference`` entries are not read."""
    if value is None:
        return "", ()
    if not isinstance(value, list):
        issues.append("payload must be a list")
        return "", ()
    texts: list[str] = []
    attachments: list[AttachmentIn] = []
    for index, item in enumerate(value):
        element = f"payload[{index}]"
        if not isinstance(item, dict):
            issues.append(f"{element} must be an object")
            continue
        if "contentString" in item:
            text = item["contentString"]
            if not isinstance(text, str):
                issues.append(f"{element}.contentString must be a string")
            elif text.strip():
                texts.append(text.replace("\r\n", "\n").strip())
        elif "contentAttachment" in item:
            attachment = _attachment(
                item["contentAttachment"], f"{element}.contentAttachment", issues
            )
            if attachment is not None:
                attachments.append(attachment)
    body = "\n\n".join(texts)
    if len(body) > MAX_BODY:
        issues.append(f"payload text is longer than {MAX_BODY:,} characters")
    return body, tuple(attachments)


def _attachment(value: JsonValue, element: str, issues: list[str]) -> AttachmentIn | None:
    """``data``: decoded and checked like a live upload (the type is found from the bytes, the
    title's extension must agree and the name is made safe). ``url`` alone: the title and the
    declared type are kept, the URL is not (never stored, logged or echoed) and neither are the
    bytes, which stay at the source."""
    if not isinstance(value, dict):
        issues.append(f"{element} must be an Attachment")
        return None
    title = values.text(value.get("title"), f"{element}.title", issues, MAX_TITLE)
    declared = value.get("contentType")
    if declared is not None and not (
        isinstance(declared, str) and _MIME_RE.match(declared.split(";")[0].strip().lower())
    ):
        issues.append(f"{element}.contentType is not a MIME type")
        declared = None
    data = value.get("data")
    if data is None:
        if not isinstance(value.get("url"), str) or not value["url"]:
            issues.append(f"{element} has neither data nor url")
            return None
        kind = declared.split(";")[0].strip().lower() if declared else "application/octet-stream"
        return AttachmentIn(title=_label(title), content_type=kind[:100], data=None)
    if not isinstance(data, str):
        issues.append(f"{element}.data must be base64 text")
        return None
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        issues.append(f"{element}.data is not valid base64")
        return None
    limit = settings.CARETHREAD_ATTACHMENT_MAX_BYTES
    if len(raw) > limit:
        issues.append(f"{element} is larger than the limit of {limit:,} bytes")
        return None
    found = files.detect_type(raw)
    if found is None:
        issues.append(
            f"{element}: the content is not an accepted file type "
            "(PDF, PNG, JPEG, GIF, TIFF or plain text)"
        )
        return None
    try:
        name = files.safe_filename(title or DEFAULT_TITLE, found)
    except MessagingError:
        issues.append(f"{element}.title has an extension that does not match its content ({found})")
        return None
    return AttachmentIn(title=name, content_type=found, data=raw)


def _label(title: str) -> str:
    """The title of an attachment whose bytes were not imported, made safe to show."""
    text = unicodedata.normalize("NFC", title).replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    text = " ".join(files.UNSAFE_CHARACTERS.sub("_", text).split()).strip(" .")
    return text[: files.MAX_FILENAME] or DEFAULT_TITLE

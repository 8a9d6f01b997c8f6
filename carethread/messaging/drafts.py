"""Drafts kept on the server, and turning the UUIDs a client sends into rows.

A draft belongs to its author alone: ``get_draft`` is the one lookup and answers the same 404 for
someone else's draft as for a missing one. A reply draft names its thread (which the caller
opened through ``access.access_thread``); a new-thread draft names its patient. Recipients are
kept as UUIDs only (``clean_recipients``) and checked when the draft is sent, by the same
sending actions as any message. Drafts are not messages: they change no thread, inbox, unread
count or measure.

The "addressing" functions resolve a client's UUIDs without telling apart a row that does not
exist from one the caller may not use: both raise the same ``MessagingError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, TypedDict, TypeVar, Unpack
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from carethread.audit import actions as audit
from carethread.audit import codes
from carethread.core.models import CareTeamPool, Organization, Patient, Practitioner
from carethread.messaging import actions, posting
from carethread.messaging.access import Viewer, access_thread, practice_patients, viewer_for
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Category, Draft, Message, Thread

if TYPE_CHECKING:
    from carethread.accounts.models import User
    from carethread.core.json import JsonValue

MAX_DRAFTS = 50
MAX_LISTED = 20
UUID_KEYS = ("pool", "organization", "on_behalf_of", "in_response_to")
LIST_KEYS = ("practitioners", "attachments")
BOOL_KEYS = ("include_patient", "private")

Row = TypeVar("Row", bound=Model)


# -- addressing ------------------------------------------------------------------------------


def _uuid(value: object, code: str) -> UUID:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise MessagingError(code) from None


def addressable_patient(viewer: Viewer, patient_uuid: UUID | str) -> Patient:
    """The patient the caller may write about: themselves, a patient they represent now, or a
    patient of one of their organisations. Anything else: ``patient_not_allowed``."""
    wanted = _uuid(patient_uuid, "patient_not_allowed")
    if viewer.user is None:
        raise MessagingError("patient_not_allowed")
    if viewer.patient is not None and viewer.patient.uuid == wanted:
        return viewer.patient
    for rep in viewer.representing.values():
        if rep.patient.uuid == wanted:
            return rep.patient
    patient = practice_patients(viewer).filter(uuid=wanted).first()
    if patient is not None:
        return patient
    raise MessagingError("patient_not_allowed")


def practitioners_named(uuids: Iterable[UUID | str]) -> list[Practitioner]:
    """Active practitioners by UUID, in the order given; ``recipient_not_allowed`` if any is
    unknown (the sending action then checks whether each may be written to)."""
    wanted = list(dict.fromkeys(_uuid(u, "recipient_not_allowed") for u in uuids))
    if not wanted:
        return []
    found = {p.uuid: p for p in Practitioner.objects.filter(uuid__in=wanted, active=True)}
    if len(found) != len(wanted):
        raise MessagingError("recipient_not_allowed")
    return [found[u] for u in wanted]


def _one_of(rows: QuerySet[Row], row_uuid: UUID | str, code: str) -> Row:
    """The row of ``rows`` with ``row_uuid``; ``code`` for a malformed UUID or no such row."""
    row = rows.filter(uuid=_uuid(row_uuid, code)).first()
    if row is None:
        raise MessagingError(code)
    return row


def pool_named(pool_uuid: UUID | str | None) -> CareTeamPool | None:
    if pool_uuid is None:
        return None
    pools = CareTeamPool.objects.filter(active=True).select_related("organization")
    return _one_of(pools, pool_uuid, "recipient_not_allowed")


def organization_named(viewer: Viewer, organization_uuid: UUID | str | None) -> Organization | None:
    """One of the caller's own organisations; any other UUID is ``not_allowed``."""
    if organization_uuid is None:
        return None
    own = Organization.objects.filter(pk__in=list(viewer.memberships))
    return _one_of(own, organization_uuid, "not_allowed")


def on_behalf_named(practitioner_uuid: UUID | str | None) -> Practitioner | None:
    if practitioner_uuid is None:
        return None
    return _one_of(Practitioner.objects.all(), practitioner_uuid, "on_behalf_not_allowed")


def message_in_thread(thread: Thread, message_uuid: UUID | str | None) -> Message | None:
    """A sent message of ``thread`` (what a reply answers); any other UUID is ``bad_request``."""
    if message_uuid is None:
        return None
    sent = Message.objects.filter(thread=thread, sent_at__isnull=False)
    return _one_of(sent, message_uuid, "bad_request")


# -- drafts ----------------------------------------------------------------------------------


def get_draft(user: User, draft_uuid: UUID | str) -> Draft:
    """The caller's own draft, else ``Http404`` (the same for someone else's)."""
    try:
        return Draft.objects.select_related("thread", "patient").get(
            uuid=draft_uuid, author_id=getattr(user, "pk", None)
        )
    except (Draft.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404 from exc


def drafts_of(user: User) -> QuerySet[Draft]:
    return (
        Draft.objects.filter(author_id=getattr(user, "pk", None))
        .select_related("thread", "patient")
        .order_by("-updated_at", "-pk")
    )


class DraftRecipients(TypedDict):
    """A draft's addressing as stored (``Draft.recipients``): UUIDs as strings (``None`` when not
    chosen), lists of them, and whether the patient is included and the thread private."""

    pool: str | None
    organization: str | None
    on_behalf_of: str | None
    in_response_to: str | None
    practitioners: list[str]
    attachments: list[str]
    include_patient: bool
    private: bool


def clean_recipients(value: Mapping[str, JsonValue] | None) -> DraftRecipients:
    """Recipient references as plain JSON: UUID strings, lists of them, and two flags."""
    value = value or {}
    if not isinstance(value, dict) or set(value) - {*UUID_KEYS, *LIST_KEYS, *BOOL_KEYS}:
        raise MessagingError("bad_request")
    return DraftRecipients(
        pool=_uuid_text(value.get("pool")),
        organization=_uuid_text(value.get("organization")),
        on_behalf_of=_uuid_text(value.get("on_behalf_of")),
        in_response_to=_uuid_text(value.get("in_response_to")),
        practitioners=_uuid_list(value.get("practitioners")),
        attachments=_uuid_list(value.get("attachments")),
        include_patient=_flag(value.get("include_patient", True)),
        private=_flag(value.get("private", False)),
    )


def _uuid_text(item: JsonValue) -> str | None:
    return None if item is None else str(_uuid(item, "bad_request"))


def _uuid_list(items: JsonValue) -> list[str]:
    items = items or []
    if not isinstance(items, list | tuple) or len(items) > MAX_LISTED:
        raise MessagingError("bad_request")
    return list(dict.fromkeys(str(_uuid(item, "bad_request")) for item in items))


def _flag(flag: JsonValue) -> bool:
    if not isinstance(flag, bool):
        raise MessagingError("bad_request")
    return flag


def _draft_text(value: str | None, limit: int) -> str:
    text = (value or "").replace("\r\n", "\n")
    if len(text) > limit:
        raise MessagingError("too_long")
    return text


class DraftContent(TypedDict, total=False):
    """What a draft holds besides its thread or patient; each part may be left empty."""

    recipients: Mapping[str, JsonValue] | None
    category: str
    subject: str
    body: str


def save_draft(
    user: User,
    *,
    draft: Draft | None = None,
    thread: Thread | None = None,
    patient: Patient | None = None,
    expected_version: int | None = None,
    request: HttpRequest | None = None,
    **content: Unpack[DraftContent],
) -> Draft:
    """Create a draft, or replace the content of ``draft`` (the caller's, from ``get_draft``),
    with ``content`` (keywords: ``DraftContent``).

    ``thread`` must have come through the access gate and ``patient`` through
    ``addressable_patient``. ``expected_version`` refuses a save over a newer one (``stale``).
    """
    unknown = set(content) - DraftContent.__optional_keys__
    if unknown:
        raise TypeError(f"save_draft() got an unexpected keyword argument '{min(unknown)}'")
    category = content.get("category", "")
    if getattr(user, "pk", None) is None or getattr(user, "blocked_at", None) is not None:
        raise MessagingError("not_allowed")
    if thread is not None and patient is not None and thread.patient_id != patient.pk:
        raise MessagingError("bad_request")
    if category and category not in Category.values:
        raise MessagingError("bad_category")
    subject = _draft_text(content.get("subject", ""), posting.MAX_SUBJECT)
    body = _draft_text(content.get("body", ""), posting.MAX_BODY)
    refs = clean_recipients(content.get("recipients"))
    now = timezone.now()
    with transaction.atomic():
        if draft is None:
            if Draft.objects.filter(author=user).count() >= MAX_DRAFTS:
                raise MessagingError("too_many_drafts")
            row = Draft(author=user)
            created = True
        else:
            locked = Draft.objects.select_for_update().filter(pk=draft.pk, author=user).first()
            if locked is None:
                raise Http404
            if expected_version is not None and locked.version != expected_version:
                raise MessagingError("stale")
            row = locked
            row.version += 1
            created = False
        row.thread = thread
        row.patient = None if thread is not None else patient
        row.recipients = refs
        row.category = category
        row.subject_ct = None
        row.body_ct = None
        if subject:
            row.seal("subject_ct", subject)
        if body:
            row.seal("body_ct", body)
        row.updated_at = now
        row.save(force_insert=created)
        audit.record(
            codes.DRAFT_SAVE,
            actor=user,
            request=request,
            patient=thread.patient_id if thread is not None else row.patient_id,
            obj=row,
            details={
                "created": created,
                "thread": str(thread.uuid) if thread is not None else None,
                "version": row.version,
            },
        )
    return row


def delete_draft(user: User, draft: Draft, *, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        deleted, _ = Draft.objects.filter(pk=draft.pk, author_id=getattr(user, "pk", None)).delete()
        if not deleted:
            raise Http404
        audit.record(
            codes.DRAFT_DELETE,
            actor=user,
            request=request,
            patient=draft.thread.patient_id if draft.thread is not None else draft.patient_id,
            obj=draft,
        )


def send_draft(
    user: User, draft: Draft, request: HttpRequest | None = None, *, viewer: Viewer | None = None
) -> Message:
    """Send the draft with ``actions.start_thread`` or ``actions.reply`` and delete it, in one
    transaction: if the send is refused, the draft stays as it was."""
    viewer = viewer or viewer_for(user)
    with transaction.atomic():
        locked = (
            Draft.objects.select_for_update()
            .filter(pk=draft.pk, author_id=getattr(user, "pk", None))
            .first()
        )
        if locked is None:
            raise Http404
        refs = clean_recipients(locked.recipients)
        subject = locked.unseal("subject_ct") or ""
        body = locked.unseal("body_ct") or ""
        if locked.thread_id is not None:
            thread_uuid = Thread.objects.filter(pk=locked.thread_id).values_list("uuid", flat=True)
            thread, viewer = access_thread(user, thread_uuid.get(), viewer=viewer)
            in_response_to = message_in_thread(thread, refs["in_response_to"])
            on_behalf_of = on_behalf_named(refs["on_behalf_of"])
            # Deleted first so the sending action's audit entry stays the last write; a refused
            # send rolls the deletion back with everything else.
            locked.delete()
            return actions.reply(
                user,
                thread,
                body=body,
                in_response_to=in_response_to,
                on_behalf_of=on_behalf_of,
                attachments=refs["attachments"],
                request=request,
                viewer=viewer,
            )
        if locked.patient_id is None:
            raise MessagingError("patient_not_allowed")
        patient_uuid = Patient.objects.filter(pk=locked.patient_id).values_list("uuid", flat=True)
        patient = addressable_patient(viewer, patient_uuid.get())
        to_practitioners = practitioners_named(refs["practitioners"])
        to_pool = pool_named(refs["pool"])
        organization = organization_named(viewer, refs["organization"])
        on_behalf_of = on_behalf_named(refs["on_behalf_of"])
        category = locked.category
        locked.delete()
        return actions.start_thread(
            user,
            patient=patient,
            category=category,
            subject=subject,
            body=body,
            to_practitioners=to_practitioners,
            to_pool=to_pool,
            organization=organization,
            include_patient=refs["include_patient"],
            private=refs["private"],
            on_behalf_of=on_behalf_of,
            attachments=refs["attachments"],
            request=request,
            viewer=viewer,
        )

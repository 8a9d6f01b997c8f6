"""What the messaging pages share: the access gate for thread URLs, attachment uploads for a
form, and the thread page (with the practice's panel)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from carethread.messaging import queries
from carethread.messaging.access import Viewer, access_thread
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Side, Thread
from carethread.web.decorators import AuthedRequest
from carethread.web.messaging import reads
from carethread.web.messaging.forms import (
    AssignForm,
    FormData,
    FormFiles,
    MessageTextMixin,
    NoteForm,
    ReplyForm,
    new_client_key,
)

WORKFLOW = "carethread.messaging.workflow"
ATTACHMENTS = "carethread.messaging.attachments"

# Which form field an action's refusal belongs to (others show above the form).
ERROR_FIELDS = {
    "empty_body": "body",
    "too_long": "body",
    "bad_category": "category",
    "no_recipient": "recipient",
    "recipient_not_allowed": "recipient",
    "on_behalf_not_allowed": "on_behalf_of",
    "bad_attachment": "attachments",
    "attachment_type": "attachments",
    "attachment_too_large": "attachments",
    "too_many_attachments": "attachments",
}


def thread_for(request: AuthedRequest, thread_uuid: str) -> tuple[Thread, Viewer]:
    """The access gate, with a malformed id treated like an unknown one."""
    return access_thread(
        request.user, reads.parse_uuid(thread_uuid), viewer=reads.viewer_of(request)
    )


def form_error(form: forms.Form, error: MessagingError) -> None:
    field = ERROR_FIELDS.get(error.code)
    form.add_error(field if field in form.fields else None, error.message)


# -- uploads -------------------------------------------------------------------------------------


def uploads(request: AuthedRequest, form: MessageTextMixin) -> tuple[list[reads.KeptFile], bool]:
    """Store the form's new files; returns every upload to attach, and whether all went well."""
    limit = settings.CARETHREAD_ATTACHMENT_MAX_COUNT
    kept = reads.kept_uploads(request.user, request.POST.getlist("kept_attachment"), limit)
    files: list[UploadedFile] = []
    if "attachments" in form.fields:
        files = form.cleaned_data.get("attachments") or []
    if len(kept) + len(files) > limit:
        form.add_error("attachments", f"Attach at most {limit} files.")
        return kept, False
    if not files:
        return kept, True
    from carethread.messaging.attachments import upload_attachment

    for upload in files:
        try:
            attachment = upload_attachment(
                request.user, filename=upload.name or "", data=upload.read(), request=request
            )
        except MessagingError as error:
            form.add_error("attachments", f"{upload.name}: {error.message}")
            return kept, False
        kept.append(
            reads.KeptFile(str(attachment.uuid), reads.filename_of(attachment), attachment.size)
        )
    return kept, True


# -- the thread page -----------------------------------------------------------------------------


def clinicians_for_reply(viewer: Viewer, found: Thread) -> list[tuple[str, str]] | None:
    if viewer.side_for(found) != Side.PRACTICE:
        return None
    return reads.clinician_choices(viewer, [found.organization])


def reply_form_for(
    viewer: Viewer, found: Thread, data: FormData | None = None, files: FormFiles | None = None
) -> ReplyForm:
    clinicians = clinicians_for_reply(viewer, found)
    initial: dict[str, object] = {"client_key": new_client_key()}
    assignee = str(found.assignee.uuid) if found.assignee is not None else None
    if clinicians and any(key == assignee for key, _ in clinicians):
        initial["on_behalf_of"] = assignee
    return ReplyForm(
        data,
        files,
        initial=initial,
        readings=viewer.side_for(found) != Side.PRACTICE,
        clinicians=clinicians,
        attachments=reads.module_ready(ATTACHMENTS),
    )


def receipt(view: queries.MessageView, side: str, found: Thread) -> str | None:
    """The read receipt the writer's side sees under its own message."""
    message = view.message
    if message.is_retracted:
        return None
    if side == Side.PRACTICE and message.sender_kind == message.SenderKind.PRACTITIONER:
        if not found.includes_patient:
            return None
        return "read-by-patient" if message.first_read_at else "unread-by-patient"
    if side != Side.PRACTICE and message.is_patient_side:
        return "read-by-practice" if message.first_read_at else "unread-by-practice"
    return None


def thread_context(request: AuthedRequest, found: Thread, viewer: Viewer) -> dict[str, Any]:
    view = queries.thread_view(found, viewer)
    practice = view.side == Side.PRACTICE
    entries = [
        {
            "view": mv,
            "own": mv.message.author_id == request.user.pk,
            "receipt": receipt(mv, view.side, found),
            "readings": reads.reading_rows(mv.readings),
        }
        for mv in view.messages
    ]
    reason = None
    if not view.can_reply and view.reply_closed_reason:
        reason = MessagingError(view.reply_closed_reason).message
    context: dict[str, Any] = {
        "thread": found,
        "view": view,
        "practice": practice,
        "entries": entries,
        "reply_reason": reason,
        "reply_code": view.reply_closed_reason,
        "now": timezone.now(),
        "overdue": found.reply_due_at is not None and found.reply_due_at < timezone.now(),
    }
    if practice:
        context.update(panel_context(found, viewer, view))
    return context


def panel_context(
    found: Thread, viewer: Viewer, view: queries.ThreadView, *, partial: bool = False
) -> dict[str, Any]:
    people = reads.people_of(found.organization)
    assign_form = AssignForm(
        initial={
            "assignee": str(found.assignee.uuid) if found.assignee else "",
            "version": found.version,
        },
        people=[(str(p.uuid), p.display_name) for p in people],
    )
    return {
        "triage_ready": reads.module_ready(WORKFLOW),
        "assign_form": assign_form,
        "note_form": NoteForm(prefix="note"),
        "notes": view.notes,
        "me": viewer.practitioner,
        "partial": partial,
        "overdue": found.reply_due_at is not None and found.reply_due_at < timezone.now(),
    }


def thread_page(
    request: AuthedRequest,
    found: Thread,
    viewer: Viewer,
    *,
    reply_form: ReplyForm | None = None,
    note_form: NoteForm | None = None,
    kept: list[reads.KeptFile] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = thread_context(request, found, viewer)
    context["reply_form"] = reply_form or reply_form_for(viewer, found)
    context["kept"] = kept or []
    if note_form is not None:
        context["note_form"] = note_form
    return render(request, "messaging/thread.html", context, status=status)

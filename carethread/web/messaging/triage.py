"""The practice's triage controls on the thread page: claim, assign, status and internal notes.

Plain form posts that come back to the thread page; with htmx (claim, assign, notes) the answer
is the practice panel alone plus its status line, so the page keeps its place and focus.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from carethread.messaging import queries
from carethread.messaging.access import Viewer, access_practice_thread
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Thread
from carethread.web.decorators import AuthedRequest, signed_in_never_cached
from carethread.web.messaging import reads
from carethread.web.messaging.forms import AssignForm, NoteForm, StatusForm, VersionForm
from carethread.web.messaging.pages import panel_context, thread_page


def _practice_thread(request: AuthedRequest, thread_uuid: str) -> tuple[Thread, Viewer]:
    """The practice-side gate, with the request's ``Viewer``."""
    return access_practice_thread(request.user, thread_uuid, viewer=reads.viewer_of(request))


def _version(request: AuthedRequest) -> int | None:
    form = VersionForm(request.POST)
    return form.cleaned_data.get("version") if form.is_valid() else None


def _as(request: AuthedRequest, viewer: Viewer, version: int | None) -> dict[str, Any]:
    """Who a triage change is made as (the request, its viewer) and the thread's version the
    page showed (a change made since refuses it)."""
    return {"expected_version": version, "request": request, "viewer": viewer}


def _after_triage(
    request: AuthedRequest, thread_uuid: str, done: str | None, error: MessagingError | None
) -> HttpResponse:
    """Back to the thread; for htmx, only the triage panel (and its status line)."""
    try:
        found, viewer = _practice_thread(request, thread_uuid)
    except Http404:
        # The change took the thread out of this user's reach (e.g. assigned to someone else).
        messages.success(request, done or "Done.")
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("messaging_inbox")
            return response
        return redirect("messaging_inbox")
    if getattr(request, "htmx", False):
        view = queries.thread_view(found, viewer)
        context = {"thread": found, **panel_context(found, viewer, view, partial=True)}
        context["panel_status"] = error.message if error else done
        context["panel_error"] = error is not None
        return render(
            request,
            "messaging/_practice_panel.html",
            context,
            # htmx swaps only successful answers: a refusal is shown in the status line.
            status=200,
        )
    if error is not None:
        messages.error(request, error.message)
    elif done:
        messages.success(request, done)
    return redirect("messaging_thread", thread_uuid=found.uuid)


def _run(
    request: AuthedRequest, thread_uuid: str, work: Callable[[Thread, Viewer], str]
) -> HttpResponse:
    found, viewer = _practice_thread(request, thread_uuid)
    try:
        done = work(found, viewer)
    except MessagingError as error:
        return _after_triage(request, thread_uuid, None, error)
    return _after_triage(request, thread_uuid, done, None)


@signed_in_never_cached
@require_POST
def claim(request: AuthedRequest, thread_uuid: str) -> HttpResponse:
    def work(found: Thread, viewer: Viewer) -> str:
        from carethread.messaging import workflow

        workflow.claim(request.user, found, **_as(request, viewer, _version(request)))
        return "You claimed this conversation."

    return _run(request, thread_uuid, work)


@signed_in_never_cached
@require_POST
def assign(request: AuthedRequest, thread_uuid: str) -> HttpResponse:
    def work(found: Thread, viewer: Viewer) -> str:
        from carethread.messaging import workflow

        people = reads.people_of(found.organization)
        form = AssignForm(request.POST, people=[(str(p.uuid), p.display_name) for p in people])
        if not form.is_valid():
            raise MessagingError("bad_request", "Choose someone from the list.")
        key = form.cleaned_data["assignee"]
        assignee = next((p for p in people if str(p.uuid) == key), None)
        version = form.cleaned_data.get("version")
        workflow.assign(request.user, found, assignee, **_as(request, viewer, version))
        if assignee is None:
            return "The conversation is now unassigned."
        return f"Assigned to {assignee.display_name}."

    return _run(request, thread_uuid, work)


STATUS_DONE = {
    "open": "The conversation was reopened.",
    "done": "The conversation was marked done.",
    "closed": "The conversation was closed.",
}


@signed_in_never_cached
@require_POST
def set_status(request: AuthedRequest, thread_uuid: str) -> HttpResponse:
    def work(found: Thread, viewer: Viewer) -> str:
        from carethread.messaging import workflow

        form = StatusForm(request.POST)
        if not form.is_valid():
            raise MessagingError("bad_request")
        new_status = form.cleaned_data["status"]
        version = form.cleaned_data.get("version")
        workflow.set_status(request.user, found, new_status, **_as(request, viewer, version))
        return STATUS_DONE[new_status]

    return _run(request, thread_uuid, work)


@signed_in_never_cached
@require_POST
def add_note(request: AuthedRequest, thread_uuid: str) -> HttpResponse:
    found, viewer = _practice_thread(request, thread_uuid)
    form = NoteForm(request.POST, prefix="note")
    if not form.is_valid():
        if getattr(request, "htmx", False):
            view = queries.thread_view(found, viewer)
            context = {"thread": found, **panel_context(found, viewer, view, partial=True)}
            context.update(note_form=form, panel_status="The note has no text.", panel_error=True)
            return render(request, "messaging/_practice_panel.html", context)
        return thread_page(request, found, viewer, note_form=form, status=400)

    def work(found: Thread, viewer: Viewer) -> str:
        from carethread.messaging import workflow

        workflow.add_note(
            request.user, found, form.cleaned_data["body"], request=request, viewer=viewer
        )
        return "The note was added."

    return _run(request, thread_uuid, work)

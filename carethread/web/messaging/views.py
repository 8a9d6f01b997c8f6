"""The messaging pages: the patient portal's and the clinical inbox's lists, compose, the thread
page with reply and retract, attachment downloads and the help page (triage: ``triage``).

Thin views: reads go through ``carethread.messaging.access`` / ``queries`` (and
``reads``), writes through the messaging actions. A refused write re-renders its form
with the action's message; a thread, attachment or patient the user may not open is the same 404
page as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from carethread.core.models import Organization, Patient
from carethread.messaging import actions, queries
from carethread.messaging.access import Viewer, access_attachment
from carethread.messaging.actions import StartFields
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Message
from carethread.messaging.templates import expected_response
from carethread.web.decorators import AuthedRequest, signed_in, signed_in_never_cached
from carethread.web.messaging import reads
from carethread.web.messaging.forms import (
    InboxFilterForm,
    MessageTextMixin,
    PatientComposeForm,
    PatientInboxForm,
    PatientLookupForm,
    PracticeComposeForm,
    new_client_key,
)
from carethread.web.messaging.pages import (
    ATTACHMENTS,
    form_error,
    reply_form_for,
    thread_for,
    thread_page,
    uploads,
)

# -- inbox ---------------------------------------------------------------------------------------


@signed_in_never_cached
@require_GET
def inbox(request: AuthedRequest) -> HttpResponse:
    viewer = reads.viewer_of(request)
    if viewer.is_practice:
        return _practice_inbox(request, viewer)
    return _patient_inbox(request, viewer)


def _older_link(request: HttpRequest, rows: list[queries.InboxRow]) -> str | None:
    if len(rows) < queries.PAGE:
        return None
    params = request.GET.copy()
    params["before"] = rows[-1].thread.last_message_at.isoformat()
    return "?" + params.urlencode()


def _newest_link(request: AuthedRequest) -> str | None:
    """Back to the first page, when this is a later one."""
    if not request.GET.get("before"):
        return None
    params = request.GET.copy()
    del params["before"]
    return "?" + params.urlencode()


def bad_filters(request: HttpRequest, form: forms.Form) -> HttpResponse:
    """The 400 page for a list's query that does not read (a date out of range, an unknown
    box): each problem with its parameter's name."""
    problems = [f"{name}: {error}" for name, errors in form.errors.items() for error in errors]
    return render(request, "400.html", {"problems": problems}, status=400)


def _patient_inbox(request: AuthedRequest, viewer: Viewer) -> HttpResponse:
    form = PatientInboxForm(request.GET)
    if not form.is_valid():
        return bad_filters(request, form)
    data = form.cleaned_data
    patients = reads.patient_side_patients(viewer)
    selected = reads.chosen_patient(viewer, data.get("patient"))
    wanted = queries.InboxFilter(box="all", patient=selected.uuid if selected else None)
    rows = queries.inbox(viewer, wanted, before=data.get("before"))
    context = {
        "rows": rows,
        "patients": patients,
        "selected": selected,
        "show_patient": len(patients) > 1 or viewer.patient is None,
        "unread_total": queries.unread_total(viewer),
        "older": _older_link(request, rows),
        "newest": _newest_link(request),
    }
    return render(request, "messaging/inbox_patient.html", context)


def _practice_inbox(request: AuthedRequest, viewer: Viewer) -> HttpResponse:
    form = InboxFilterForm(request.GET)
    if not form.is_valid():
        return bad_filters(request, form)
    data = form.cleaned_data
    box = data.get("box") or "mine"
    pools = reads.viewer_pools(viewer)
    pool = next((p for p in pools if p.uuid == data.get("pool")), None) if box == "pool" else None
    if box == "pool" and pool is None:
        box = "mine"
    patient = None
    if data.get("patient"):
        try:
            patient = reads.practice_patient(viewer, data["patient"])
        except Http404:
            patient = None
    wanted = queries.InboxFilter(
        box=box,
        pool=pool.uuid if pool else None,
        status=data.get("status") or None,
        category=data.get("category") or None,
        patient=patient.uuid if patient else None,
        unread=True if data.get("unread") else None,
        overdue=True if data.get("overdue") else None,
    )
    rows = queries.inbox(viewer, wanted, before=data.get("before"))
    keep = {
        k: v
        for k, v in (
            ("status", data.get("status")),
            ("category", data.get("category")),
            ("patient", str(patient.uuid) if patient else ""),
            ("unread", "on" if data.get("unread") else ""),
            ("overdue", "on" if data.get("overdue") else ""),
        )
        if v
    }
    tabs = [
        ("My threads", {"box": "mine"}, box == "mine"),
        ("Assigned to me", {"box": "assigned"}, box == "assigned"),
    ] + [(p.name, {"box": "pool", "pool": str(p.uuid)}, pool == p) for p in pools]
    box_params = {"box": box, **({"pool": str(pool.uuid)} if pool else {})}
    other_filters = {k: v for k, v in keep.items() if k != "patient"}
    context = {
        "rows": rows,
        "tabs": [
            (label, "?" + urlencode({**params, **keep}), current) for label, params, current in tabs
        ],
        "current_tab": next(label for label, _params, current in tabs if current),
        "form": form,
        "box_params": box_params,
        "patient": patient,
        "clear_patient": "?" + urlencode({**box_params, **other_filters}),
        "lookup_form": PatientLookupForm(initial={"to": "inbox", **box_params}),
        "emergency_right": bool(viewer.emergency_orgs),
        "unread_total": queries.unread_total(viewer),
        "older": _older_link(request, rows),
        "newest": _newest_link(request),
        "filtered": bool(keep),
    }
    return render(request, "messaging/inbox_practice.html", context)


@signed_in_never_cached
@require_POST
def patient_lookup(request: AuthedRequest) -> HttpResponse:
    """Find a patient by MRN (posted, so the MRN never appears in a URL) and go on by UUID."""
    viewer = reads.viewer_of(request)
    if not viewer.is_practice:
        raise Http404
    form = PatientLookupForm(request.POST)
    patient = None
    if form.is_valid():
        patient = reads.patient_by_mrn(viewer, form.cleaned_data["mrn"])
        if patient is None:
            form.add_error("mrn", "No patient of your practice has that MRN.")
    if patient is None:
        return render(request, "messaging/patient_lookup.html", {"form": form}, status=400)
    data = form.cleaned_data
    if data.get("to") == "compose":
        return redirect(reverse("messaging_compose") + "?" + urlencode({"patient": patient.uuid}))
    if data.get("to") == "record":
        return redirect("messaging_patient", patient_uuid=patient.uuid)
    params: dict[str, str] = {"patient": str(patient.uuid)}
    if data.get("box") in ("mine", "assigned", "pool"):
        params["box"] = data["box"]
    if data.get("pool"):
        params["pool"] = str(data["pool"])
    return redirect(reverse("messaging_inbox") + "?" + urlencode(params))


@signed_in_never_cached
@require_GET
def patient_messages(request: AuthedRequest, patient_uuid: str) -> HttpResponse:
    """Every thread of one patient the practice user may see: part of the patient's record."""
    viewer = reads.viewer_of(request)
    patient = reads.practice_patient(viewer, patient_uuid)
    form = PatientInboxForm({"before": request.GET.get("before", "")})
    if not form.is_valid():
        return bad_filters(request, form)
    before = form.cleaned_data.get("before")
    wanted = queries.InboxFilter(box="patient", patient=patient.uuid)
    rows = queries.inbox(viewer, wanted, before=before)
    context = {
        "patient": patient,
        "rows": rows,
        "older": _older_link(request, rows),
        "newest": _newest_link(request),
    }
    return render(request, "messaging/patient_messages.html", context)


# -- compose -------------------------------------------------------------------------------------


Start = Callable[[dict[str, Any], StartFields], Message]


def _compose_page(
    request: AuthedRequest,
    viewer: Viewer,
    patient: Patient,
    compose_form: Callable[..., MessageTextMixin],
    start: Start,
    template: str,
    context: dict[str, object],
) -> HttpResponse:
    """A compose page about ``patient``. A valid POST stores its uploads and starts the thread:
    ``start`` gets the cleaned data and the keywords every compose page sends (patient,
    category, subject, body, uploads, retry key, request and viewer), and the answer is a
    redirect to the thread. Otherwise ``template`` shows the form again with its kept uploads
    (400, or the refusal's status with its reason on the form)."""
    if request.method != "POST":
        form = compose_form(initial={"client_key": new_client_key()})
        return _show_compose(request, template, context, form, [], 200)
    form = compose_form(request.POST, request.FILES)
    if not form.is_valid():
        return _show_compose(request, template, context, form, [], 400)
    kept, ok = uploads(request, form)
    if not ok:
        return _show_compose(request, template, context, form, kept, 400)
    data = form.cleaned_data
    opening = StartFields(
        patient=patient,
        category=data["category"],
        subject=data["subject"],
        body=data["body"],
        attachments=[k.uuid for k in kept],
        client_key=data.get("client_key") or None,
        request=request,
        viewer=viewer,
    )
    try:
        message = start(data, opening)
    except MessagingError as error:
        form_error(form, error)
        status = error.status if error.status != 200 else 400
        return _show_compose(request, template, context, form, kept, status)
    messages.success(request, "Your message was sent.")
    return redirect("messaging_thread", thread_uuid=message.thread.uuid)


def _show_compose(
    request: AuthedRequest,
    template: str,
    context: dict[str, object],
    form: MessageTextMixin,
    kept: list[reads.KeptFile],
    status: int,
) -> HttpResponse:
    return render(request, template, {**context, "form": form, "kept": kept}, status=status)


@signed_in_never_cached
@require_http_methods(["GET", "POST"])
def compose(request: AuthedRequest) -> HttpResponse:
    viewer = reads.viewer_of(request)
    if viewer.is_practice:
        if not request.GET.get("patient"):
            lookup = PatientLookupForm(initial={"to": "compose"})
            return render(request, "messaging/patient_lookup.html", {"form": lookup})
        patient = reads.practice_patient(viewer, request.GET["patient"])
        return _practice_compose(request, viewer, patient)
    patients = reads.patient_side_patients(viewer)
    if not patients:
        raise Http404
    patient = reads.chosen_patient(viewer, request.GET.get("patient")) or patients[0]
    return _patient_compose(request, viewer, patient, patients)


def _patient_compose(
    request: AuthedRequest, viewer: Viewer, patient: Patient, patients: list[Patient]
) -> HttpResponse:
    recipients = reads.recipients_for(patient)
    is_patient = viewer.patient is not None and viewer.patient.pk == patient.pk
    compose_form = partial(
        PatientComposeForm,
        recipients=recipients.choices("you" if is_patient else patient.display_name),
        allow_private=is_patient,
        attachments=reads.module_ready(ATTACHMENTS),
    )

    def start(data: dict[str, Any], opening: StartFields) -> Message:
        practitioner, pool = recipients.resolve(data["recipient"])
        opening["to_practitioners"] = [practitioner] if practitioner else []
        opening["to_pool"] = pool
        opening["private"] = bool(data.get("private"))
        opening["readings"] = data["readings"] or None
        return actions.start_thread(request.user, **opening)

    context: dict[str, object] = {
        "patient": patient,
        "patients": patients,
        "is_patient": is_patient,
        "has_recipients": bool(recipients),
        "response_times": reads.response_times(recipients.organizations()),
    }
    template = "messaging/compose_patient.html"
    return _compose_page(request, viewer, patient, compose_form, start, template, context)


def _practice_compose(request: AuthedRequest, viewer: Viewer, patient: Patient) -> HttpResponse:
    organizations = queries.patient_organizations(viewer, patient)
    if not organizations:
        raise Http404
    compose_form = partial(
        PracticeComposeForm,
        organizations=[(str(o.uuid), o.name) for o in organizations],
        colleagues=reads.colleague_choices(viewer, organizations),
        clinicians=reads.clinician_choices(viewer, organizations),
        attachments=reads.module_ready(ATTACHMENTS),
    )

    def start(data: dict[str, Any], opening: StartFields) -> Message:
        org_uuid = data.get("organization")
        organization = next((o for o in organizations if str(o.uuid) == org_uuid), organizations[0])
        to_colleagues = data["to"] == PracticeComposeForm.TO_COLLEAGUES
        colleagues = reads.practitioners_by_uuid(data["colleagues"]) if to_colleagues else []
        on_behalf = reads.practitioners_by_uuid([data.get("on_behalf_of") or ""])
        opening["to_practitioners"] = colleagues
        opening["organization"] = organization
        opening["include_patient"] = bool(data.get("include_patient")) or not to_colleagues
        opening["on_behalf_of"] = on_behalf[0] if on_behalf else None
        return actions.start_thread(request.user, **opening)

    context: dict[str, object] = {
        "patient": patient,
        "response_times": reads.response_times(organizations),
    }
    template = "messaging/compose_practice.html"
    return _compose_page(request, viewer, patient, compose_form, start, template, context)


# -- the thread ----------------------------------------------------------------------------------


@signed_in_never_cached
@require_GET
def thread(request: AuthedRequest, thread_uuid: str) -> HttpResponse:
    found, viewer = thread_for(request, thread_uuid)
    actions.record_thread_view(request.user, found, request=request, viewer=viewer)
    if viewer.emergency_for(found) is None:
        # Emergency access reads without a trace in the thread (no inbox row, no receipts).
        actions.mark_read(request.user, found, request=request, viewer=viewer)
    return thread_page(request, found, viewer)


@signed_in_never_cached
@require_POST
def reply(request: AuthedRequest, thread_uuid: str) -> HttpResponse:
    found, viewer = thread_for(request, thread_uuid)
    form = reply_form_for(viewer, found, request.POST, request.FILES)
    kept: list[reads.KeptFile] = []
    status = 400
    if form.is_valid():
        kept, ok = uploads(request, form)
        data = form.cleaned_data
        on_behalf = reads.practitioners_by_uuid([data.get("on_behalf_of") or ""])
        if ok:
            try:
                message = actions.reply(
                    request.user,
                    found,
                    body=data["body"],
                    on_behalf_of=on_behalf[0] if on_behalf else None,
                    attachments=[k.uuid for k in kept],
                    readings=data.get("readings") or None,
                    client_key=data.get("client_key") or None,
                    request=request,
                    viewer=viewer,
                )
            except MessagingError as error:
                form_error(form, error)
                status = error.status
            else:
                messages.success(request, "Your reply was sent.")
                url = reverse("messaging_thread", kwargs={"thread_uuid": found.uuid})
                return redirect(f"{url}#message-{message.uuid}")
    return thread_page(request, found, viewer, reply_form=form, kept=kept, status=status)


@signed_in_never_cached
@require_POST
def retract(request: AuthedRequest, thread_uuid: str, message_uuid: str) -> HttpResponse:
    found, viewer = thread_for(request, thread_uuid)
    message = queries.message_in(found, message_uuid)
    if message.author_id != request.user.pk:
        raise Http404
    try:
        actions.retract(request.user, message, request=request, viewer=viewer)
    except MessagingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The message was retracted.")
    return redirect("messaging_thread", thread_uuid=found.uuid)


# -- attachments and help ------------------------------------------------------------------------


@signed_in
@require_GET
def attachment_download(request: AuthedRequest, attachment_uuid: str) -> HttpResponse:
    attachment, viewer = access_attachment(
        request.user, reads.parse_uuid(attachment_uuid), viewer=reads.viewer_of(request)
    )
    from carethread.messaging.attachments import record_download, served_content_type

    record_download(request.user, attachment, request=request, viewer=viewer)
    data = attachment.unseal_bytes("data_ct") or b""
    filename = attachment.unseal("filename_ct") or "attachment"
    response = HttpResponse(data, content_type=served_content_type(attachment.content_type))
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@never_cache
@require_GET
def help_page(request: HttpRequest) -> HttpResponse:
    """What messaging is for; signed-in patients also see their practices' response times."""
    organizations: dict[int, Organization] = {}
    if request.user.is_authenticated:
        viewer = reads.viewer_of(request)
        for patient in reads.patient_side_patients(viewer):
            for org in reads.recipients_for(patient).organizations():
                organizations.setdefault(org.pk, org)
    practices = [
        (org.name, expected_response(org.expected_response_hours), org.reply_window_days)
        for org in organizations.values()
    ]
    return render(request, "messaging/help.html", {"practices": practices})

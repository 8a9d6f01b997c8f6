"""Forms of the messaging pages: compose (patient side and practice side), reply, inbox
filters, patient lookup and the practice's triage controls.

Choices hold UUIDs only; the views turn them back into the rows they listed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeAlias, cast

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.datastructures import MultiValueDict

from carethread.core.forms import CheckedForm
from carethread.messaging.models import Category, Thread
from carethread.messaging.posting import MAX_BODY, MAX_SUBJECT

MAX_NOTE = 10_000

FormData: TypeAlias = Mapping[str, object]
"""What a bound form reads: a request's GET or POST, or a plain dict."""
FormFiles: TypeAlias = MultiValueDict[str, UploadedFile]
"""A request's uploaded files."""
Choices: TypeAlias = list[tuple[str, str]]

CATEGORY_CHOICES = [("", "Choose a category"), *Category.choices]
WEIGHT_UNITS = [("lb", "lb"), ("kg", "kg")]


def new_client_key() -> str:
    """A one-use key a form carries so that sending it twice writes one message."""
    return secrets.token_urlsafe(24)


def choices_of(form: forms.Form, name: str) -> forms.ChoiceField:
    """A choice field of ``form`` (typed, to set its choices)."""
    return cast(forms.ChoiceField, form.fields[name])


class PageForm(CheckedForm):
    """Labels without a trailing colon (they read better, and are what a screen reader says);
    every field carries the shared input checks."""

    def __init__(
        self,
        data: FormData | None = None,
        files: FormFiles | None = None,
        *,
        prefix: str | None = None,
        initial: dict[str, object] | None = None,
    ) -> None:
        super().__init__(data, files, prefix=prefix, initial=initial, label_suffix="")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Zero or more uploaded files (``<input type=file multiple>``)."""

    def __init__(self, *, label: str) -> None:
        super().__init__(label=label, widget=MultipleFileInput(), required=False)

    def clean(self, data: object, initial: object = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        cleaned: list[UploadedFile] = [
            super(MultipleFileField, self).clean(f, initial) for f in files if f
        ]
        limit = settings.CARETHREAD_ATTACHMENT_MAX_COUNT
        if len(cleaned) > limit:
            raise forms.ValidationError(f"Attach at most {limit} files.")
        max_bytes = settings.CARETHREAD_ATTACHMENT_MAX_BYTES
        if any((f.size or 0) > max_bytes for f in cleaned):
            raise forms.ValidationError(f"Each file must be at most {_size(max_bytes)}.")
        return cleaned


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.0f} MB"
    return f"{max(1, n // 1024)} KB"


def attachment_help() -> str:
    return (
        "PDF, picture (JPEG, PNG, GIF, TIFF) or plain text files; up to "
        f"{settings.CARETHREAD_ATTACHMENT_MAX_COUNT} files of at most "
        f"{_size(settings.CARETHREAD_ATTACHMENT_MAX_BYTES)} each."
    )


class ReadingsMixin(PageForm):
    """Optional home readings, sent as structured values."""

    bp_systolic = forms.IntegerField(
        label="Systolic (top number)", required=False, min_value=40, max_value=300
    )
    bp_diastolic = forms.IntegerField(
        label="Diastolic (bottom number)", required=False, min_value=20, max_value=200
    )
    glucose = forms.DecimalField(
        label="Blood glucose (mg/dL)",
        required=False,
        min_value=Decimal(10),
        max_value=Decimal(1000),
        decimal_places=1,
    )
    weight = forms.DecimalField(
        label="Weight",
        required=False,
        min_value=Decimal(1),
        max_value=Decimal(1500),
        decimal_places=1,
    )
    weight_unit = forms.ChoiceField(
        label="Weight unit", choices=WEIGHT_UNITS, initial="lb", required=False
    )

    def clean_readings(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        readings: list[dict[str, Any]] = []
        systolic, diastolic = data.get("bp_systolic"), data.get("bp_diastolic")
        if (systolic is None) != (diastolic is None):
            missing = "bp_diastolic" if diastolic is None else "bp_systolic"
            self.add_error(missing, "Enter both blood pressure numbers, or neither.")
        elif systolic is not None and diastolic is not None:
            if diastolic >= systolic:
                self.add_error("bp_diastolic", "The bottom number is lower than the top number.")
            else:
                readings.append(
                    {
                        "kind": "blood-pressure",
                        "systolic": systolic,
                        "diastolic": diastolic,
                        "unit": "mmHg",
                    }
                )
        if data.get("glucose") is not None:
            readings.append(
                {"kind": "blood-glucose", "value": float(data["glucose"]), "unit": "mg/dL"}
            )
        if data.get("weight") is not None:
            unit = data.get("weight_unit") or "lb"
            readings.append({"kind": "weight", "value": float(data["weight"]), "unit": unit})
        return readings

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["readings"] = self.clean_readings(data)
        return data


class MessageTextMixin(PageForm):
    body = forms.CharField(
        label="Message",
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    attachments = MultipleFileField(label="Attach files")
    client_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def set_attachments_enabled(self, enabled: bool) -> None:
        if enabled:
            self.fields["attachments"].help_text = attachment_help()
        else:
            del self.fields["attachments"]

    def offer_clinicians(self, clinicians: Choices | None) -> None:
        """The clinicians a staff member may write for; no ``on_behalf_of`` field for None."""
        if clinicians is None:
            del self.fields["on_behalf_of"]
        else:
            choices_of(self, "on_behalf_of").choices = [("", "Myself"), *clinicians]


class PatientComposeForm(ReadingsMixin, MessageTextMixin):
    """A patient (or representative) writes to the care team."""

    field_order = ["recipient", "category", "subject", "body"]

    recipient = forms.ChoiceField(
        label="To",
        help_text="A clinician who has seen you, or one of the practice's care teams.",
    )
    category = forms.ChoiceField(label="What is it about?", choices=CATEGORY_CHOICES)
    subject = forms.CharField(label="Subject", max_length=MAX_SUBJECT)
    private = forms.BooleanField(
        label="Keep this conversation private from my representatives",
        required=False,
        help_text="People who help manage your care (for example a parent or caregiver) will "
        "not see it.",
    )

    def __init__(
        self,
        data: FormData | None = None,
        files: FormFiles | None = None,
        *,
        initial: dict[str, object] | None = None,
        recipients: list[tuple[str, Choices]],
        allow_private: bool,
        attachments: bool,
    ) -> None:
        super().__init__(data, files, initial=initial)
        choices_of(self, "recipient").choices = [("", "Choose who to write to"), *recipients]
        if not allow_private:
            # A representative writes: the patient alone may keep a thread from representatives.
            del self.fields["private"]
            self.fields[
                "recipient"
            ].help_text = (
                "A clinician who has seen the patient, or one of the practice's care teams."
            )
        self.set_attachments_enabled(attachments)


class PracticeComposeForm(MessageTextMixin):
    """A practice user writes to a patient, or to colleagues about the patient."""

    TO_PATIENT = "patient"
    TO_COLLEAGUES = "colleagues"

    field_order = [
        "organization",
        "to",
        "colleagues",
        "include_patient",
        "on_behalf_of",
        "category",
        "subject",
        "body",
    ]

    organization = forms.ChoiceField(label="Send from")
    to = forms.ChoiceField(
        label="Send to",
        widget=forms.RadioSelect,
        choices=[(TO_PATIENT, "The patient"), (TO_COLLEAGUES, "Colleagues, about the patient")],
        initial=TO_PATIENT,
    )
    colleagues = forms.MultipleChoiceField(
        label="Colleagues",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="When you write to colleagues: who receives it.",
    )
    include_patient = forms.BooleanField(
        label="Include the patient in this conversation",
        required=False,
        help_text="When you write to colleagues: the patient and their representatives see it "
        "and can reply.",
    )
    on_behalf_of = forms.ChoiceField(
        label="Send on behalf of",
        required=False,
        help_text="The clinician you are writing for; the message shows both names.",
    )
    category = forms.ChoiceField(label="Category", choices=CATEGORY_CHOICES)
    subject = forms.CharField(label="Subject", max_length=MAX_SUBJECT)

    def __init__(
        self,
        data: FormData | None = None,
        files: FormFiles | None = None,
        *,
        initial: dict[str, object] | None = None,
        organizations: Choices,
        colleagues: Choices,
        clinicians: Choices | None,
        attachments: bool,
    ) -> None:
        super().__init__(data, files, initial=initial)
        if len(organizations) > 1:
            choices_of(self, "organization").choices = organizations
        else:
            del self.fields["organization"]
        choices_of(self, "colleagues").choices = colleagues
        self.offer_clinicians(clinicians)
        self.set_attachments_enabled(attachments)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("to") == self.TO_COLLEAGUES and not data.get("colleagues"):
            self.add_error("colleagues", "Choose at least one colleague.")
        return data


class ReplyForm(ReadingsMixin, MessageTextMixin):
    field_order = ["on_behalf_of", "body"]

    on_behalf_of = forms.ChoiceField(label="Send on behalf of", required=False)

    def __init__(
        self,
        data: FormData | None = None,
        files: FormFiles | None = None,
        *,
        readings: bool,
        clinicians: Choices | None,
        attachments: bool,
        initial: dict[str, object] | None = None,
    ) -> None:
        super().__init__(data, files, initial=initial)
        self.fields["body"].label = "Your reply"
        if not readings:
            for name in ("bp_systolic", "bp_diastolic", "glucose", "weight", "weight_unit"):
                del self.fields[name]
        self.offer_clinicians(clinicians)
        self.set_attachments_enabled(attachments)

    def clean_readings(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        if "bp_systolic" not in self.fields:
            return []
        return super().clean_readings(data)


class InboxFilterForm(PageForm):
    """The practice inbox's filters (GET; every value is a code or a UUID)."""

    box = forms.ChoiceField(
        required=False,
        choices=[("mine", "My threads"), ("assigned", "Assigned to me"), ("pool", "Pool")],
    )
    pool = forms.UUIDField(required=False)
    patient = forms.UUIDField(required=False)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *Thread.Status.choices]
    )
    category = forms.ChoiceField(
        label="Category", required=False, choices=[("", "Any category"), *Category.choices]
    )
    unread = forms.BooleanField(label="Unread only", required=False)
    overdue = forms.BooleanField(label="Overdue only", required=False)
    before = forms.DateTimeField(required=False)


class PatientInboxForm(PageForm):
    """The patient side's inbox: which represented person to show."""

    patient = forms.UUIDField(required=False)
    before = forms.DateTimeField(required=False)


class PatientLookupForm(PageForm):
    mrn = forms.CharField(label="Patient's MRN", max_length=64)
    box = forms.CharField(required=False, max_length=16, widget=forms.HiddenInput)
    pool = forms.UUIDField(required=False, widget=forms.HiddenInput)
    to = forms.ChoiceField(
        required=False,
        choices=[("inbox", "inbox"), ("record", "record"), ("compose", "compose")],
        widget=forms.HiddenInput,
    )


class NoteForm(PageForm):
    body = forms.CharField(
        label="Internal note (staff only)",
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AssignForm(PageForm):
    assignee = forms.ChoiceField(label="Assign to", required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        data: FormData | None = None,
        *,
        initial: dict[str, object] | None = None,
        people: Choices,
    ) -> None:
        super().__init__(data, initial=initial)
        choices_of(self, "assignee").choices = [("", "Nobody (unassigned)"), *people]


class StatusForm(PageForm):
    status = forms.ChoiceField(choices=Thread.Status.choices)
    version = forms.IntegerField(required=False)


class VersionForm(PageForm):
    version = forms.IntegerField(required=False)

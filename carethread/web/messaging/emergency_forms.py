"""The forms of the emergency-access page: start one (the practice, the patient by MRN or by
family name and date of birth, the reason and its free text) and end one early."""

from __future__ import annotations

from typing import Any

from django import forms

from carethread.messaging.emergency import MAX_EXPLANATION, REASONS
from carethread.web.messaging.forms import Choices, FormData, PageForm, choices_of

NEED_PATIENT = "Give the patient's MRN, or their family name and date of birth."
OTHER_NEEDS_TEXT = "Say why: the reason \u201cOther\u201d needs an explanation."
NO_PATIENT = (
    "No patient of this practice matches. Check the MRN, or the family name and date of birth."
)


class EmergencyStartForm(PageForm):
    organization = forms.ChoiceField(label="Practice")
    mrn = forms.CharField(label="Patient's MRN", max_length=64, required=False)
    family_name = forms.CharField(label="Family name", max_length=100, required=False)
    birth_date = forms.DateField(
        label="Date of birth",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    reason = forms.ChoiceField(label="Reason", choices=[("", "Choose a reason"), *REASONS.choices])
    explanation = forms.CharField(
        label="Explanation (required for \u201cOther\u201d; shown only in the emergency-access "
        "report)",
        max_length=MAX_EXPLANATION,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, data: FormData | None = None, *, practices: Choices) -> None:
        super().__init__(data)
        choices_of(self, "organization").choices = practices
        if len(practices) == 1:
            self.fields["organization"].initial = practices[0][0]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        mrn = (data.get("mrn") or "").strip()
        by_name = (data.get("family_name") or "").strip() and data.get("birth_date")
        if not mrn and not by_name and not self.has_error("birth_date"):
            self.add_error("mrn", NEED_PATIENT)
        if data.get("reason") == REASONS.OTHER and not (data.get("explanation") or "").strip():
            self.add_error("explanation", OTHER_NEEDS_TEXT)
        return data


class EmergencyEndForm(PageForm):
    access = forms.UUIDField(widget=forms.HiddenInput)

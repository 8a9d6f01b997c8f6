"""The forms of the practice settings pages (profile, locations, messaging settings, pools,
routing rules, templates). Every field is bounded and carries the shared input checks; the
actions check the values again and their errors are put beside the field they concern."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from carethread.core import practice
from carethread.core.forms import CheckedForm
from carethread.core.models import CareTeamPool, Practitioner
from carethread.core.validators import validate_pos
from carethread.messaging import practice_settings, templates
from carethread.messaging.errors import MessagingError
from carethread.messaging.models import Category


class NamedChoiceField(forms.ModelChoiceField):
    """A choice of rows by UUID, each shown by its name (a practitioner's display name)."""

    def label_from_instance(self, obj: Any) -> str:
        return str(getattr(obj, "display_name", None) or obj.name)


def _hours_field(label: str, help_text: str, *, required: bool = True) -> forms.IntegerField:
    low, high = practice_settings.LIMITS["expected_response_hours"]
    return forms.IntegerField(
        label=label, min_value=low, max_value=high, help_text=help_text, required=required
    )


class ProfileForm(CheckedForm):
    name = forms.CharField(label="Practice name", max_length=practice.MAX_NAME)
    phone = forms.CharField(
        label="Phone number",
        max_length=40,
        required=False,
        help_text="The number patients are told to call, for example (555) 201-3344.",
    )

    def clean_phone(self) -> str:
        return practice.normalize_phone(self.cleaned_data.get("phone", ""))


class LocationForm(CheckedForm):
    name = forms.CharField(label="Name", max_length=practice.MAX_NAME)
    pos_code = forms.CharField(
        label="Place-of-service code",
        max_length=2,
        help_text="Two digits from the CMS list, for example 11 (office) or 02 (telehealth).",
    )
    state = forms.CharField(
        label="State", max_length=2, required=False, help_text="Two letters, for example OH."
    )
    county = forms.CharField(label="County", max_length=practice.MAX_COUNTY, required=False)

    def clean_pos_code(self) -> str:
        code = self.cleaned_data.get("pos_code", "").strip()
        validate_pos(code)
        return code

    def clean_state(self) -> str:
        return practice.normalize_state(self.cleaned_data.get("state", ""))


class MessagingSettingsForm(CheckedForm):
    messaging_enabled = forms.BooleanField(
        label="Patients may message this practice",
        required=False,
        help_text="Off: patients and representatives cannot start or reply to conversations "
        "with this practice (see above).",
    )
    expected_response_hours = _hours_field(
        "Expected response time (hours)",
        "The practice's response target: patients are told it before sending, and a "
        "conversation is due this many hours after the patient's message.",
    )
    reply_window_days = forms.IntegerField(
        label="Reply window (days)",
        min_value=practice_settings.LIMITS["reply_window_days"][0],
        max_value=practice_settings.LIMITS["reply_window_days"][1],
        help_text="A conversation closes to patient replies after this many days without a "
        "message; the patient then starts a new one.",
    )
    auto_acknowledge = forms.BooleanField(
        label="Acknowledge each new patient conversation automatically",
        required=False,
        help_text="The patient gets an automatic reply saying when to expect an answer.",
    )
    notify_sender_name = forms.BooleanField(
        label="Email notifications may name the sender",
        required=False,
        help_text="Only for recipients who have chosen this too; otherwise emails name no one.",
    )


class PoolNameForm(CheckedForm):
    name = forms.CharField(label="Pool name", max_length=100)


class PoolTargetForm(CheckedForm):
    hours = _hours_field(
        "Response target (hours)",
        "Leave empty to use the practice's expected response time.",
        required=False,
    )


class PoolMemberForm(CheckedForm):
    practitioner = NamedChoiceField(
        label="Practice user",
        queryset=Practitioner.objects.none(),
        to_field_name="uuid",
        error_messages={"invalid_choice": "Choose a practice user of this practice from the list."},
    )

    def __init__(self, *args: Any, choices: list[Practitioner], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["practitioner"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Practitioner.objects.filter(pk__in=[p.pk for p in choices]).order_by(
            "family_name", "given_name", "pk"
        )


class RoutingForm(CheckedForm):
    category = forms.ChoiceField(label="Category", choices=Category.choices)
    pool = NamedChoiceField(
        label="Send to pool",
        queryset=CareTeamPool.objects.none(),
        to_field_name="uuid",
        error_messages={"invalid_choice": "Choose one of the practice's active pools."},
    )

    def __init__(self, *args: Any, pools: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["pool"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = pools


class RoutingRemoveForm(CheckedForm):
    category = forms.ChoiceField(choices=Category.choices)


class TemplateForm(CheckedForm):
    name = forms.CharField(label="Name", max_length=practice_settings.MAX_TEMPLATE_NAME)
    category = forms.ChoiceField(
        label="Category",
        choices=[("", "Any category"), *Category.choices],
        required=False,
    )
    subject = forms.CharField(
        label="Subject", max_length=practice_settings.MAX_TEMPLATE_SUBJECT, required=False
    )
    body = forms.CharField(
        label="Text",
        max_length=practice_settings.MAX_TEMPLATE_BODY,
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    def clean_subject(self) -> str:
        return _placeholders_known(self.cleaned_data.get("subject", ""))

    def clean_body(self) -> str:
        return _placeholders_known(self.cleaned_data.get("body", ""))


def _placeholders_known(text: str) -> str:
    try:
        templates.check(text)
    except MessagingError:
        known = ", ".join("{" + name + "}" for name in templates.PLACEHOLDERS)
        raise ValidationError(
            f"Use only these placeholders: {known} (write {{{{ and }}}} for a brace)."
        ) from None
    return text

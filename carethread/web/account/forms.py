"""Forms of the enrolment pages. Every field is bounded and carries the shared input checks."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation

from carethread.accounts import invitations
from carethread.core.forms import CheckedForm


class EnrolCodeForm(CheckedForm):
    code = forms.CharField(
        label="Invitation code",
        max_length=32,
        help_text="The code on the letter from your practice, e.g. ABCDE-FGH23.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def clean_code(self) -> str:
        code = invitations.normalise_code(self.cleaned_data["code"])
        if not code:
            raise forms.ValidationError("This code is not valid or has expired.")
        return code


class DateOfBirthForm(CheckedForm):
    birth_date = forms.DateField(
        label="The patient's date of birth",
        widget=forms.DateInput(attrs={"type": "date"}),
        input_formats=["%Y-%m-%d", "%m/%d/%Y"],
        help_text="Representatives enter the date of birth of the patient they represent.",
    )


class EnrolForm(DateOfBirthForm):
    email = forms.EmailField(label="Your email address (your sign-in)", max_length=254)
    password1 = forms.CharField(
        label="Choose a password",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2:
            if p1 != p2:
                self.add_error("password2", "The two passwords differ.")
            else:
                try:
                    password_validation.validate_password(p1)
                except forms.ValidationError as error:
                    self.add_error("password1", error)
        return data

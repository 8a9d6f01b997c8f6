"""The forms of the people and invitation pages. Every field is bounded and carries the shared
input checks."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from carethread.core.forms import CheckedForm
from carethread.core.models import Membership, Practitioner
from carethread.core.validators import npi_is_valid
from carethread.web.account.forms import EnrolForm


class AddPersonForm(CheckedForm):
    """A clinician or a staff member: an imported practitioner picked from the list, or an NPI
    (required for a clinician) with an email address and a name."""

    role = forms.ChoiceField(choices=Membership.Role.choices, label="Role")
    practitioner = forms.ChoiceField(
        required=False, label="Or pick an imported practitioner (without a login)"
    )
    npi = forms.CharField(
        required=False, max_length=10, label="NPI", help_text="10 digits; clinicians need one."
    )
    email = forms.EmailField(required=False, max_length=254, label="Email address")
    given_name = forms.CharField(required=False, max_length=100, label="Given name")
    family_name = forms.CharField(required=False, max_length=100, label="Family name")

    def __init__(self, *args: Any, candidates: QuerySet[Practitioner], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.candidates = {str(p.uuid): p for p in candidates}
        choices = [("", "— nobody: enter an NPI and email below —")]
        choices += [(key, p.display_name) for key, p in self.candidates.items()]
        field = self.fields["practitioner"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def clean_npi(self) -> str:
        npi = str(self.cleaned_data.get("npi") or "").strip()
        if npi and not npi_is_valid(npi):
            raise forms.ValidationError("This is not a valid NPI: 10 digits with a check digit.")
        return npi

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        picked = self.candidates.get(data.get("practitioner") or "")
        data["picked"] = picked
        if picked is None:
            clinician = data.get("role") == Membership.Role.CLINICIAN
            if clinician and not data.get("npi") and "npi" not in self.errors:
                self.add_error("npi", "A clinician needs an NPI.")
        return data


class RightsForm(CheckedForm):
    admin = forms.BooleanField(required=False, label="Administrator")
    auditor = forms.BooleanField(required=False, label="Auditor (reads the audit report)")
    emergency_access = forms.BooleanField(required=False, label="Emergency access")


class ActiveForm(CheckedForm):
    active = forms.ChoiceField(choices=[("0", "Deactivate"), ("1", "Reactivate")])


class InviteForm(CheckedForm):
    email = forms.EmailField(max_length=254, label="Email address")


class JoinForm(EnrolForm):
    """The password of a practice user's new login (the address is the invitation's)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["birth_date"]
        del self.fields["email"]

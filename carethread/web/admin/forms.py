"""The form of the portal-access page. Every field is bounded and carries the shared input
checks."""

from __future__ import annotations

from typing import Any

from django import forms

from carethread.accounts.actions import BLOCK_REASONS
from carethread.core.forms import CheckedForm


class PortalChangeForm(CheckedForm):
    OPS = [("block", "Block"), ("unblock", "Unblock"), ("invite", "Invite")]
    KINDS = [("patient", "Patient"), ("representative", "Representative")]

    op = forms.ChoiceField(choices=OPS)
    kind = forms.ChoiceField(choices=KINDS)
    target = forms.UUIDField()
    reason = forms.ChoiceField(choices=list(BLOCK_REASONS.items()), required=False)
    # A block is written only from the confirmation page, which sends ``confirm``.
    confirm = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("op") == "block" and not data.get("reason"):
            self.add_error("reason", "Choose a reason.")
        return data

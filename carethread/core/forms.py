"""The base of every web form: each text field refuses what ``core.text`` refuses, each date and
date-time field what ``core.validators`` refuses, with the error on the field itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms

from carethread.core.text import validate_text
from carethread.core.validators import validate_date_in_range


def add_input_checks(field: forms.Field) -> None:
    """Give ``field`` the shared check for its kind of value (once)."""
    if isinstance(field, forms.DateField | forms.DateTimeField):
        check: Callable[[Any], None] = validate_date_in_range  # a Django validator
    elif isinstance(field, forms.CharField):
        check = validate_text
    else:
        # Choices, UUIDs, numbers and booleans only accept values of their own shape.
        return
    if check not in field.validators:
        field.validators.append(check)


class CheckedForm(forms.Form):
    """A form whose fields carry the shared input checks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # Django's form arguments
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            add_input_checks(field)

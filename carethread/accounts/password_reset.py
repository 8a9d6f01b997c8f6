"""Password reset by email: the same work whether or not the address has an account.

The form (``ACCOUNT_FORMS["reset_password"]``) looks the address up with one query and queues
one task (``tasks.send_password_reset``) carrying the ids of the accounts found, an empty list
for an unknown address, and answers. The worker makes the single-use token, renders the mail
and hands it to the SMTP server. So the answer's time says nothing about the address: no token,
no rendering, no SMTP conversation happens in the request for one address and not for another.
The reset link in the mail is built on ``CARETHREAD_BASE_URL``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from allauth.account.adapter import get_adapter
from allauth.account.forms import ResetPasswordForm as AllauthResetPasswordForm
from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from carethread.accounts.models import User
from carethread.core.forms import CheckedForm

log = logging.getLogger(__name__)

MAIL_TEMPLATE = "account/email/password_reset_key"


class ResetPasswordForm(CheckedForm, AllauthResetPasswordForm):
    def clean_email(self) -> str:
        email = str(self.cleaned_data["email"])
        # One query, found or not (allauth's lookup asks a second table only when the first
        # has no verified address: one query more for an unknown address).
        self.users = list(User.objects.filter(email__iexact=email.strip(), is_active=True))
        return email

    def save(self, request: HttpRequest, **kwargs: object) -> str:
        from carethread.accounts.tasks import send_password_reset

        send_password_reset.enqueue([user.pk for user in self.users])
        return str(self.cleaned_data["email"])


@dataclass(frozen=True)
class Site:
    """What allauth's mail templates read as ``current_site``, from ``CARETHREAD_BASE_URL``."""

    name: str
    domain: str


def reset_url(user: User, token: str) -> str:
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
    path = path.replace("UID-KEY", quote(f"{user_pk_to_url_str(user)}-{token}"))
    return f"{settings.CARETHREAD_BASE_URL}{path}"


def send_reset_mail(user: User) -> bool:
    """Make a token for ``user``, render the reset mail and send it; False if the mail server
    refused or could not be reached (logged without the address)."""
    token = default_token_generator.make_token(user)  # the generator allauth's key view checks
    context = {
        "user": user,
        "email": user.email,
        "password_reset_url": reset_url(user, token),
        "uid": user_pk_to_url_str(user),
        "key": token,
        "current_site": Site("Carethread", urlsplit(settings.CARETHREAD_BASE_URL).netloc),
    }
    message = get_adapter().render_mail(MAIL_TEMPLATE, user.email, context)
    try:
        message.send()
    except OSError:  # smtplib.SMTPException is an OSError
        log.warning("Could not send password_reset_key mail")
        return False
    return True

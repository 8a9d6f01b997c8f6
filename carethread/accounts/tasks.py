"""Background work of the accounts app, on Django's tasks API (database queue)."""

from __future__ import annotations

from django_tasks import task


@task()
def send_password_reset(user_ids: list[int]) -> int:
    """Send the password-reset mail to each active account of ``user_ids`` (ids only: the token
    is made here, not stored in the queue); an empty list, queued for an address without an
    account, sends nothing. Returns how many mails were handed over."""
    from carethread.accounts.models import User
    from carethread.accounts.password_reset import send_reset_mail

    users = User.objects.filter(pk__in=user_ids, is_active=True).order_by("pk")
    return sum(1 for user in users if send_reset_mail(user))


@task()
def send_practice_invitation(invitation_id: int) -> bool:
    """Email a practice user's invitation (its id only in the queue: the link is made here);
    nothing for an invitation revoked or used meanwhile."""
    from carethread.accounts.practice_users import send_invitation_mail

    return send_invitation_mail(invitation_id)

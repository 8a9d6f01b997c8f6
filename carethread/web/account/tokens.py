"""The page where a signed-in user lists, creates and revokes personal API tokens."""

from __future__ import annotations

from uuid import UUID

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from carethread.api import actions
from carethread.api.models import ApiToken
from carethread.api.tokens import DEFAULT_LIFETIME_DAYS, LIFETIME_DAYS
from carethread.web.decorators import AuthedRequest

REFUSALS = {
    "not_allowed": "This login cannot use the API.",
    "mfa_required": "Set up an authenticator app before creating an API token.",
    "name": "Give the token a name of at most 100 characters, without control characters.",
    "expires_at": "Choose how long the token stays valid.",
    "too_many": "You have too many active tokens; revoke one first.",
}


def _lifetime(value: str) -> int:
    """The chosen lifetime in days (the default when none was sent); 0, which the action
    refuses, for anything that is not a number."""
    if not value:
        return DEFAULT_LIFETIME_DAYS
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 4 else 0


def _page(request: AuthedRequest, *, new_token: str = "", status: int = 200) -> HttpResponse:
    tokens = ApiToken.objects.filter(user=request.user)
    context: dict[str, object] = {
        "tokens": tokens,
        "new_token": new_token,
        "now": timezone.now(),
        "lifetimes": LIFETIME_DAYS,
        "default_lifetime": DEFAULT_LIFETIME_DAYS,
    }
    return render(request, "api/tokens.html", context, status=status)


@never_cache
@login_required
@require_GET
def token_list(request: AuthedRequest) -> HttpResponse:
    return _page(request)


@never_cache
@login_required
@require_POST
@reauthentication_required
def token_create(request: AuthedRequest) -> HttpResponse:
    try:
        _token, raw = actions.create_token(
            request.user,
            request.POST.get("name", ""),
            lifetime_days=_lifetime(request.POST.get("lifetime_days", "")),
            request=request,
        )
    except actions.TokenError as error:
        messages.error(request, REFUSALS.get(error.code, "The token could not be created."))
        return _page(request, status=400)
    return _page(request, new_token=raw)


@login_required
@require_POST
def token_revoke(request: AuthedRequest, token_uuid: UUID) -> HttpResponse:
    token = get_object_or_404(ApiToken, uuid=token_uuid, user=request.user)
    if actions.revoke_token(token, actor=request.user, request=request):
        messages.info(request, "The token was revoked.")
    return redirect("api_tokens")

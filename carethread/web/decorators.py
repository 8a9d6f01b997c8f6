"""What every signed-in page shares: the type of its request (``AuthedRequest``, whose user is
signed in) and the wrappers — sign-in required, the house's 404 page for anything not found or
not allowed, and no caching of pages with personal or health information."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache

from carethread.accounts.models import User


class AuthedRequest(HttpRequest):
    """A request behind ``login_required`` or ``signed_in``: its user is a signed-in ``User``."""

    user: User


View = Callable[..., HttpResponse]


def signed_in(view: View) -> View:
    """Signed in, and a 404 page of our own for anything not found or not allowed."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Http404:
            response = render(request, "messaging/not_found.html", status=404)
            add_never_cache_headers(response)
            return response

    return login_required(wrapper)


def signed_in_never_cached(view: View) -> View:
    """A page with health information: signed in only and never kept in a cache."""
    return signed_in(never_cache(view))

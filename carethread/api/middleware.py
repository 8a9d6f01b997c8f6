"""``Cache-Control: no-store`` on every response under ``/api/``.

API answers hold PHI and per-user data: no browser, proxy or shared cache may keep a copy. One
middleware, listed near the top of ``settings.MIDDLEWARE`` so it also covers the answers other
middleware gives on its own (the session guards' 401/403, CSRF refusals) and the JSON 404 of
unknown routes.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

API_PREFIX = "/api/"


class ApiNoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX):
            patch_cache_control(response, no_store=True)
        return response

"""Every API error is JSON ``{"detail": ...}`` without stack traces or request data."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from carethread.messaging.errors import MessagingError

log = logging.getLogger(__name__)
_E = TypeVar("_E", bound=Exception)

# Only these keys of a validation error are returned: never the submitted value ("input").
VALIDATION_KEYS = ("type", "loc", "msg")
UNREADABLE_MULTIPART = (
    "The multipart body cannot be read (a boundary is missing, or a part's headers, such as "
    "its file name, pass 1 kB)."
)


def install_handlers(api: NinjaAPI) -> None:
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return api.create_response(request, {"detail": "Not found."}, status=404)

    def unauthorised(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return api.create_response(
            request,
            {"detail": "Authentication credentials were not provided or are invalid."},
            status=401,
        )

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)

    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = [
            {key: error[key] for key in VALIDATION_KEYS if key in error} for error in exc.errors
        ]
        for error in errors:
            # A parser's message can quote part of the body (which may hold PHI).
            if "json" in str(error.get("type", "")) or "JSON" in str(error.get("msg", "")):
                error["msg"] = "The body is not valid JSON."
        return api.create_response(request, {"detail": errors}, status=422)

    def refused(request: HttpRequest, exc: MessagingError) -> HttpResponse:
        # A refused messaging action: its stable code and PHI-free sentence.
        return api.create_response(
            request, {"detail": exc.message, "code": exc.code}, status=exc.status
        )

    def suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        # Django's request limits (DATA_UPLOAD_MAX_MEMORY_SIZE, field counts), met while the
        # body is parsed, before any route code runs.
        if isinstance(exc, RequestDataTooBig):
            return api.create_response(request, {"detail": "The request is too large."}, status=413)
        return api.create_response(request, {"detail": "The request is not valid."}, status=400)

    def unreadable(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
        # A multipart body Django cannot read: no boundary, or a part's headers past 1 kB
        # (e.g. a file name of a thousand characters).
        return api.create_response(request, {"detail": UNREADABLE_MULTIPART}, status=400)

    def failure(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.error("API request failed: %s", type(exc).__name__, exc_info=exc)
        return api.create_response(request, {"detail": "Internal server error."}, status=500)

    answer(api, Http404, not_found)
    answer(api, AuthenticationError, unauthorised)
    answer(api, HttpError, http_error)
    answer(api, ValidationError, invalid)
    answer(api, MessagingError, refused)
    answer(api, SuspiciousOperation, suspicious)
    answer(api, MultiPartParserError, unreadable)
    answer(api, Exception, failure)


def answer(
    api: NinjaAPI, kind: type[_E], handler: Callable[[HttpRequest, _E], HttpResponse]
) -> None:
    """Register ``handler`` for ``kind`` and its subclasses: it is handed the raised exception
    (ninja's signature also admits the class itself, which it never passes)."""

    def handle(request: HttpRequest, exc: _E | type[_E]) -> HttpResponse:
        assert isinstance(exc, kind)
        return handler(request, exc)

    api.add_exception_handler(kind, handle)


def json_method_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """ninja answers a wrong method with a plain-text 405; turn it into JSON."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            allowed = response.get("Allow", "")
            response = JsonResponse({"detail": "Method not allowed."}, status=405)
            response["Allow"] = allowed
        return response

    return wrapper


def unknown_route(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    return JsonResponse({"detail": "Not found."}, status=404)

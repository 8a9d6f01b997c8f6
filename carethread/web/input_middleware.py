"""A request whose address or form fields hold a NUL character is refused before any view runs.

No value the service accepts holds a NUL (``core.text``), PostgreSQL cannot store or even compare
one, and views read some parameters directly (a TIN, an NPI, a kind of notification). So a NUL
in the path, in any query parameter (name or value) or in a web form's fields is answered here
with a 400 that names the parameter: JSON under ``/api/`` (where request bodies are JSON, checked
field by field by the API's schemas), the 400 page elsewhere. A multipart body Django cannot read
is a 400 page too.

The fields' other checks (control characters, dates out of range) are the forms' own
(``core.forms``), so their errors appear beside the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

from carethread.core.text import NUL, has_nul, nul_refusal

API_PREFIX = "/api/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
UNREADABLE = "The form could not be read: send it again from the page."


def _pairs(data: QueryDict) -> Iterable[tuple[str, str]]:
    for key, values in data.lists():
        for value in values:
            yield key, value


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    """The 400 answer: JSON under ``/api/``, the 400 page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": message}, status=400)
    return render(request, "400.html", {"problems": [message]}, status=400)


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = self.problem(request)
        if problem is not None:
            return bad_request(request, problem)
        return self.get_response(request)

    def problem(self, request: HttpRequest) -> str | None:
        if NUL in request.path:
            return "The address holds a NUL character."
        key = has_nul(_pairs(request.GET))
        if key is not None:
            return nul_refusal("query parameter", key)
        if (
            request.method == "POST"
            and not request.path.startswith(API_PREFIX)
            and request.content_type in FORM_TYPES
        ):
            try:
                key = has_nul(_pairs(request.POST))
            except MultiPartParserError:
                return UNREADABLE
            if key is not None:
                return nul_refusal("form field", key)
        return None

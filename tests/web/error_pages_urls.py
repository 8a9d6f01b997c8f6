"""The service's URLs plus two that fail on purpose, for tests/web/test_error_pages.py."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def refused(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [
    path("test-refused", refused),
    path("test-broken", broken),
    path("", include("carethread.urls")),
]

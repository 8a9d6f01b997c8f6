from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from carethread.accounts import access, roles
from carethread.web.decorators import AuthedRequest


@login_required
@require_GET
def home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    practitioner = roles.practitioner_of(user)
    memberships = (
        list(practitioner.memberships.filter(active=True).select_related("organization"))
        if practitioner is not None
        else []
    )
    context = {
        "practitioner": practitioner,
        "memberships": memberships,
        "patient": roles.patient_of(user),
        "represented": roles.represented_patients(user),
        "is_practice_admin": access.admin_organizations(user).exists(),
    }
    return render(request, "web/home.html", context)


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")

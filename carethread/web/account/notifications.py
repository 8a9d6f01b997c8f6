"""The page where a signed-in user chooses which notification emails they get."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from carethread.notifications import actions
from carethread.web.decorators import AuthedRequest

LABELS = {
    actions.KIND_MESSAGE_NEW: "A new secure message is waiting for me",
    actions.KIND_THREAD_ASSIGNED: "A conversation was assigned to me",
}


def _page(request: AuthedRequest, *, status: int = 200) -> HttpResponse:
    prefs = actions.preferences(request.user)
    kinds = [
        {"kind": kind, "label": LABELS.get(kind, kind), "on": on}
        for kind, on in prefs["email"].items()
    ]
    context: dict[str, Any] = {"kinds": kinds, "sender_name": prefs["sender_name"]}
    return render(request, "notifications/preferences.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: AuthedRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    user = request.user
    known = actions.kinds_for(user)
    chosen = request.POST.getlist("email")
    if any(kind not in known for kind in chosen):
        messages.error(request, "Unknown kind of notification: nothing was changed.")
        return _page(request, status=400)
    actions.set_preferences(
        user,
        email={kind: kind in chosen for kind in known},
        sender_name=request.POST.get("sender_name") == "on",
        request=request,
    )
    messages.success(request, "Your notification settings were saved.")
    return redirect("notification_preferences")

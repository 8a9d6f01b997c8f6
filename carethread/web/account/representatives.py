"""The patient's page of who can see their messages, with a way to end a representative's
access."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from carethread.accounts import access, actions, roles
from carethread.web.decorators import AuthedRequest


@login_required
@require_GET
def representatives(request: AuthedRequest) -> HttpResponse:
    """Who can see the signed-in patient's messages, each with a way to end their access."""
    if roles.patient_of(request.user) is None:
        raise Http404
    context = {"representatives": access.own_representatives(request.user)}
    return render(request, "accounts/representatives.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def representative_revoke(request: AuthedRequest, representative_uuid: UUID) -> HttpResponse:
    """GET asks for confirmation; POST ends the representative's access now."""
    rep = access.own_representative(request.user, representative_uuid)
    if request.method == "POST":
        actions.revoke_representative(rep, actor=request.user, request=request)
        messages.success(request, f"{rep.display_name} can no longer see your messages.")
        return redirect("representatives")
    return render(request, "accounts/representative_revoke.html", {"representative": rep})

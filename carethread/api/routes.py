"""The API's own routes: who am I, and the caller's personal tokens."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router

from carethread.accounts.models import User
from carethread.api import actions
from carethread.api.auth import caller
from carethread.api.models import ApiToken
from carethread.api.schemas import Error, Invalid, Me, TokenOut
from carethread.core.models import Membership, Patient, Representative

router = Router(tags=["account"])


def caller_roles(user: User) -> tuple[list[str], list[UUID]]:
    """The caller's roles and, for practice users, their organisations (three queries)."""
    now = timezone.now()
    organizations = list(
        Membership.objects.filter(practitioner__user=user, practitioner__active=True, active=True)
        .order_by("organization__uuid")
        .values_list("organization__uuid", flat=True)
    )
    roles = []
    if Patient.objects.filter(user=user).exists():
        roles.append("patient")
    if Representative.objects.filter(Representative.valid_at_q(now), user=user).exists():
        roles.append("representative")
    if organizations:
        roles.append("practice")
    return roles, organizations


@router.get("/me", response={200: Me, 401: Error}, summary="The caller's roles")
def me(request: HttpRequest) -> dict[str, object]:
    user = caller(request)
    roles, organizations = caller_roles(user)
    return {"uuid": user.uuid, "roles": roles, "organizations": organizations}


@router.get("/tokens", response={200: list[TokenOut], 401: Error}, summary="The caller's tokens")
def list_tokens(request: HttpRequest) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=caller(request))


@router.delete(
    "/tokens/{token_uuid}",
    response={204: None, 401: Error, 403: Error, 404: Error, 422: Invalid},
    summary="Revoke one of the caller's tokens",
)
def revoke_token(request: HttpRequest, token_uuid: UUID) -> HttpResponse:
    user = caller(request)
    token = get_object_or_404(ApiToken, uuid=token_uuid, user=user)
    actions.revoke_token(token, actor=user, request=request)
    return HttpResponse(status=204)

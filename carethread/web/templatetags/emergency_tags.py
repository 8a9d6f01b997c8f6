"""The emergency-access banner's data: the signed-in user's running emergency accesses (no
query for anyone without the right; read from the request's ``Viewer``)."""

from __future__ import annotations

from typing import Any

from django import template

from carethread.messaging.emergency import running
from carethread.messaging.models import EmergencyAccess

register = template.Library()


@register.simple_tag(takes_context=True)
def emergency_accesses(context: dict[str, Any]) -> list[EmergencyAccess]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return []
    from carethread.web.messaging.reads import viewer_of

    return running(viewer_of(request))

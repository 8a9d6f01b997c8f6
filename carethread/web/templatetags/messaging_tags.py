"""Template helpers of the messaging pages: the unread count shown in the header and on home."""

from __future__ import annotations

from typing import Any

from django import template

from carethread.messaging.queries import unread_total

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_messages(context: dict[str, Any]) -> int:
    """The signed-in user's unread messages (computed once per request)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return 0
    cached = getattr(request, "_carethread_unread", None)
    if cached is None:
        from carethread.web.messaging.reads import viewer_of

        cached = unread_total(viewer_of(request))
        request._carethread_unread = cached
    return int(cached)

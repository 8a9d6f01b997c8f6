"""Mounted at /api/: the ninja routes, then a JSON 404 for everything else under /api/."""

from __future__ import annotations

from django.urls import URLPattern, re_path

from carethread.api.api import api
from carethread.api.errors import json_method_not_allowed, unknown_route

patterns, _app_name, app_name = api.urls  # app_name "api": the namespace ninja reverses
for pattern in patterns:
    if isinstance(pattern, URLPattern):
        if pattern.name == "api-root":
            # ninja reverses this name to find the API's prefix; its own view is an HTML 404.
            pattern.callback = unknown_route
        else:
            pattern.callback = json_method_not_allowed(pattern.callback)

urlpatterns = [*patterns, re_path(r"", unknown_route)]

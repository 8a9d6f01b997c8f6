"""The practice administration pages under ``/practice/``."""

from django.urls import path

from carethread.web.admin import delivery, index, portal_access

urlpatterns = [
    path("practice/", index.admin_index, name="admin_index"),
    path("practice/portal-access", portal_access.portal_access, name="portal_access"),
    path(
        "practice/portal-access/change",
        portal_access.portal_access_change,
        name="portal_access_change",
    ),
    path("practice/notifications", delivery.delivery_health, name="delivery_health"),
]

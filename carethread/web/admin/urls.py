"""The practice administration pages under ``/practice/``."""

from django.urls import path

from carethread.web.admin import audit, delivery, portal_access

urlpatterns = [
    path("practice/portal-access", portal_access.portal_access, name="portal_access"),
    path(
        "practice/portal-access/change",
        portal_access.portal_access_change,
        name="portal_access_change",
    ),
    path("practice/notifications", delivery.delivery_health, name="delivery_health"),
    path("practice/audit", audit.audit_report, name="audit_report"),
    path("practice/audit/export", audit.audit_export, name="audit_export"),
    path("practice/audit/verify", audit.audit_verify, name="audit_verify"),
]

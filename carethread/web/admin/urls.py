"""The practice administration pages under ``/practice/``."""

from django.urls import path

from carethread.web.admin import audit, delivery, emergency_report, index, people, portal_access
from carethread.web.admin import invitations as invitation_pages
from carethread.web.admin import pools as pool_pages
from carethread.web.admin import settings as setting_pages
from carethread.web.admin import templates as template_pages

urlpatterns = [
    path("practice/", index.admin_index, name="admin_index"),
    path("practice/portal-access", portal_access.portal_access, name="portal_access"),
    path(
        "practice/portal-access/change",
        portal_access.portal_access_change,
        name="portal_access_change",
    ),
    path("practice/notifications", delivery.delivery_health, name="delivery_health"),
    path(
        "practice/emergency-access/report",
        emergency_report.emergency_report,
        name="emergency_access_report",
    ),
    path("practice/audit", audit.audit_report, name="audit_report"),
    path("practice/audit/export", audit.audit_export, name="audit_export"),
    path("practice/audit/verify", audit.audit_verify, name="audit_verify"),
    # The practice settings (web/admin/settings.py, pools.py, templates.py).
    path("practice/settings", setting_pages.choose, name="practice_settings"),
    path("practice/<uuid:org_uuid>/settings", setting_pages.profile, name="practice_profile"),
    path(
        "practice/<uuid:org_uuid>/settings/messaging",
        setting_pages.messaging,
        name="practice_messaging_settings",
    ),
    path("practice/<uuid:org_uuid>/locations", setting_pages.locations, name="practice_locations"),
    path(
        "practice/<uuid:org_uuid>/locations/<uuid:location_uuid>",
        setting_pages.location,
        name="practice_location",
    ),
    path("practice/<uuid:org_uuid>/pools", pool_pages.pools, name="practice_pools"),
    path("practice/<uuid:org_uuid>/pools/<uuid:pool_uuid>", pool_pages.pool, name="practice_pool"),
    path(
        "practice/<uuid:org_uuid>/pools/<uuid:pool_uuid>/target",
        pool_pages.pool_change,
        {"change": "target"},
        name="practice_pool_target",
    ),
    path(
        "practice/<uuid:org_uuid>/pools/<uuid:pool_uuid>/members",
        pool_pages.pool_change,
        {"change": "member_add"},
        name="practice_pool_member_add",
    ),
    path(
        "practice/<uuid:org_uuid>/pools/<uuid:pool_uuid>/members/remove",
        pool_pages.pool_change,
        {"change": "member_remove"},
        name="practice_pool_member_remove",
    ),
    path(
        "practice/<uuid:org_uuid>/pools/<uuid:pool_uuid>/deactivate",
        pool_pages.pool_change,
        {"change": "deactivate"},
        name="practice_pool_deactivate",
    ),
    path("practice/<uuid:org_uuid>/routing", pool_pages.routing, name="practice_routing"),
    path(
        "practice/<uuid:org_uuid>/routing/remove",
        pool_pages.routing_remove,
        name="practice_routing_remove",
    ),
    path(
        "practice/<uuid:org_uuid>/templates",
        template_pages.template_list,
        name="practice_templates",
    ),
    path(
        "practice/<uuid:org_uuid>/templates/<uuid:template_uuid>",
        template_pages.template_edit,
        name="practice_template",
    ),
    path(
        "practice/<uuid:org_uuid>/templates/<uuid:template_uuid>/retire",
        template_pages.template_retire,
        name="practice_template_retire",
    ),
    path("practice/<uuid:org_uuid>/people", people.people_list, name="admin_people"),
    path("practice/<uuid:org_uuid>/people/add", people.person_add, name="admin_person_add"),
    path(
        "practice/<uuid:org_uuid>/people/<uuid:membership_uuid>",
        people.person,
        name="admin_person",
    ),
    path(
        "practice/<uuid:org_uuid>/people/<uuid:membership_uuid>/rights",
        people.person_rights,
        name="admin_person_rights",
    ),
    path(
        "practice/<uuid:org_uuid>/people/<uuid:membership_uuid>/active",
        people.person_active,
        name="admin_person_active",
    ),
    path(
        "practice/<uuid:org_uuid>/people/<uuid:membership_uuid>/invite",
        people.person_invite,
        name="admin_person_invite",
    ),
    path(
        "practice/<uuid:org_uuid>/invitations",
        invitation_pages.invitation_list,
        name="admin_invitations",
    ),
    path(
        "practice/<uuid:org_uuid>/invitations/<uuid:invitation_uuid>/resend",
        invitation_pages.invitation_resend,
        name="admin_invitation_resend",
    ),
    path(
        "practice/<uuid:org_uuid>/invitations/<uuid:invitation_uuid>/revoke",
        invitation_pages.invitation_revoke,
        name="admin_invitation_revoke",
    ),
    path("practice/join", invitation_pages.join, name="practice_join"),
    path("practice/join/<str:token>", invitation_pages.join_link, name="practice_join_link"),
]

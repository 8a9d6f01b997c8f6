"""The practice administration pages under ``/practice/``.

The pages of one practice's administration share the prefix ``practice/<uuid:org_uuid>/``
(``PRACTICE_PAGES``, mounted once under it); the practice-wide pages (the index, the audit
report, joining a practice by invitation) stand beside them.
"""

from django.urls import include, path

from carethread.web.admin import audit, delivery, emergency_report, index, people, portal_access
from carethread.web.admin import invitations as invitation_pages
from carethread.web.admin import pools as pool_pages
from carethread.web.admin import settings as setting_pages
from carethread.web.admin import templates as template_pages

# The changes one pool's page posts: the path below the pool -> the change (and the URL name's end).
POOL_CHANGES = {
    "target": "target",
    "members": "member_add",
    "members/remove": "member_remove",
    "deactivate": "deactivate",
}

PRACTICE_PAGES = [
    # The practice settings (web/admin/settings.py, pools.py, templates.py).
    path("settings", setting_pages.profile, name="practice_profile"),
    path("settings/messaging", setting_pages.messaging, name="practice_messaging_settings"),
    path("locations", setting_pages.locations, name="practice_locations"),
    path("locations/<uuid:location_uuid>", setting_pages.location, name="practice_location"),
    path("pools", pool_pages.pools, name="practice_pools"),
    path("pools/<uuid:pool_uuid>", pool_pages.pool, name="practice_pool"),
    *(
        path(
            f"pools/<uuid:pool_uuid>/{below}",
            pool_pages.pool_change,
            {"change": change},
            name=f"practice_pool_{change}",
        )
        for below, change in POOL_CHANGES.items()
    ),
    path("routing", pool_pages.routing, name="practice_routing"),
    path("routing/remove", pool_pages.routing_remove, name="practice_routing_remove"),
    path("templates", template_pages.template_list, name="practice_templates"),
    path("templates/<uuid:template_uuid>", template_pages.template_edit, name="practice_template"),
    path(
        "templates/<uuid:template_uuid>/retire",
        template_pages.template_retire,
        name="practice_template_retire",
    ),
    # The practice's people and their invitations (web/admin/people.py, invitations.py).
    path("people", people.people_list, name="admin_people"),
    path("people/add", people.person_add, name="admin_person_add"),
    path("people/<uuid:membership_uuid>", people.person, name="admin_person"),
    path("people/<uuid:membership_uuid>/rights", people.person_rights, name="admin_person_rights"),
    path("people/<uuid:membership_uuid>/active", people.person_active, name="admin_person_active"),
    path("people/<uuid:membership_uuid>/invite", people.person_invite, name="admin_person_invite"),
    path("invitations", invitation_pages.invitation_list, name="admin_invitations"),
    path(
        "invitations/<uuid:invitation_uuid>/resend",
        invitation_pages.invitation_resend,
        name="admin_invitation_resend",
    ),
    path(
        "invitations/<uuid:invitation_uuid>/revoke",
        invitation_pages.invitation_revoke,
        name="admin_invitation_revoke",
    ),
]

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
    path("practice/settings", setting_pages.choose, name="practice_settings"),
    path("practice/<uuid:org_uuid>/", include(PRACTICE_PAGES)),
    path("practice/join", invitation_pages.join, name="practice_join"),
    path("practice/join/<str:token>", invitation_pages.join_link, name="practice_join_link"),
]

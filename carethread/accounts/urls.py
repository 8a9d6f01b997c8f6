from django.urls import path

from carethread.accounts import views

urlpatterns = [
    path("enrol", views.enrol_code, name="enrol"),
    path("enrol/verify", views.enrol_verify, name="enrol_verify"),
    path("enrol/welcome", views.enrolled, name="enrolled"),
    path("enrol/<str:token>", views.enrol_link, name="enrol_link"),
    path("practice/portal-access", views.portal_access, name="portal_access"),
    path("practice/portal-access/change", views.portal_access_change, name="portal_access_change"),
    path("account/representatives", views.representatives, name="representatives"),
    path(
        "account/representatives/<uuid:representative_uuid>/revoke",
        views.representative_revoke,
        name="representative_revoke",
    ),
]

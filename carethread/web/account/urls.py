"""A person's own pages: enrolment by invitation, their representatives, their notification
emails and their API tokens."""

from django.urls import path

from carethread.web.account import enrolment, notifications, representatives, tokens

urlpatterns = [
    path("enrol", enrolment.enrol_code, name="enrol"),
    path("enrol/verify", enrolment.enrol_verify, name="enrol_verify"),
    path("enrol/welcome", enrolment.enrolled, name="enrolled"),
    path("enrol/<str:token>", enrolment.enrol_link, name="enrol_link"),
    path("account/representatives", representatives.representatives, name="representatives"),
    path(
        "account/representatives/<uuid:representative_uuid>/revoke",
        representatives.representative_revoke,
        name="representative_revoke",
    ),
    path("account/api-tokens", tokens.token_list, name="api_tokens"),
    path("account/api-tokens/create", tokens.token_create, name="api_token_create"),
    path(
        "account/api-tokens/<uuid:token_uuid>/revoke", tokens.token_revoke, name="api_token_revoke"
    ),
    path("account/notifications", notifications.preferences, name="notification_preferences"),
]

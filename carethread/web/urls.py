"""The portal's and the clinical inbox's messaging pages (UUIDs only in URLs)."""

from django.urls import path

from carethread.web import delivery_views, triage_views
from carethread.web import measures_outreach_views as measures_outreach
from carethread.web import measures_trend_views as measures_trend
from carethread.web import measures_views as measures
from carethread.web import messaging_views as views

urlpatterns = [
    path("messages/", views.inbox, name="messaging_inbox"),
    path("messages/new", views.compose, name="messaging_compose"),
    path("messages/find-patient", views.patient_lookup, name="messaging_patient_lookup"),
    path(
        "messages/attachments/<str:attachment_uuid>",
        views.attachment_download,
        name="messaging_attachment",
    ),
    path("messages/<str:thread_uuid>/", views.thread, name="messaging_thread"),
    path("messages/<str:thread_uuid>/reply", views.reply, name="messaging_reply"),
    path(
        "messages/<str:thread_uuid>/messages/<str:message_uuid>/retract",
        views.retract,
        name="messaging_retract",
    ),
    path("messages/<str:thread_uuid>/claim", triage_views.claim, name="messaging_claim"),
    path("messages/<str:thread_uuid>/assign", triage_views.assign, name="messaging_assign"),
    path("messages/<str:thread_uuid>/status", triage_views.set_status, name="messaging_status"),
    path("messages/<str:thread_uuid>/notes", triage_views.add_note, name="messaging_note"),
    path("patients/<str:patient_uuid>/messages", views.patient_messages, name="messaging_patient"),
    path("help/messaging", views.help_page, name="messaging_help"),
    path("practice/notifications", delivery_views.delivery_health, name="delivery_health"),
    path("practice/measures", measures.dashboard, name="measures_dashboard"),
    path("practice/measures/patients", measures.patients, name="measures_patients"),
    path("practice/measures/trend", measures_trend.trend, name="measures_trend"),
    path("practice/measures/outreach", measures_outreach.outreach, name="measures_outreach"),
    path(
        "practice/measures/outreach/<str:outreach_uuid>/confirm",
        measures_outreach.outreach_confirm,
        name="measures_outreach_confirm",
    ),
    path(
        "practice/measures/outreach/<str:outreach_uuid>/cancel",
        measures_outreach.outreach_cancel,
        name="measures_outreach_cancel",
    ),
]

"""The portal's and the clinical inbox's messaging pages (UUIDs only in URLs)."""

from django.urls import path

from carethread.web.messaging import emergency, triage, views

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
    path("messages/<str:thread_uuid>/claim", triage.claim, name="messaging_claim"),
    path("messages/<str:thread_uuid>/assign", triage.assign, name="messaging_assign"),
    path("messages/<str:thread_uuid>/status", triage.set_status, name="messaging_status"),
    path("messages/<str:thread_uuid>/notes", triage.add_note, name="messaging_note"),
    path("patients/<str:patient_uuid>/messages", views.patient_messages, name="messaging_patient"),
    path("help/messaging", views.help_page, name="messaging_help"),
    path("practice/emergency-access", emergency.emergency_access, name="emergency_access"),
    path(
        "practice/emergency-access/end",
        emergency.emergency_access_end,
        name="emergency_access_end",
    ),
]

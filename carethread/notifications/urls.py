"""Mounted at /account/: the notification preferences page."""

from django.urls import path

from carethread.notifications import views

urlpatterns = [
    path("notifications", views.preferences, name="notification_preferences"),
]

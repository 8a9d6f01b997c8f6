"""The measure dashboard's pages under ``/practice/measures``."""

from django.urls import path

from carethread.web.measures import outreach, trend, views

urlpatterns = [
    path("practice/measures", views.dashboard, name="measures_dashboard"),
    path("practice/measures/patients", views.patients, name="measures_patients"),
    path("practice/measures/trend", trend.trend, name="measures_trend"),
    path("practice/measures/outreach", outreach.outreach, name="measures_outreach"),
    path(
        "practice/measures/outreach/<str:outreach_uuid>/confirm",
        outreach.outreach_confirm,
        name="measures_outreach_confirm",
    ),
    path(
        "practice/measures/outreach/<str:outreach_uuid>/cancel",
        outreach.outreach_cancel,
        name="measures_outreach_cancel",
    ),
]

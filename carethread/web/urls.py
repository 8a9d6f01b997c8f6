"""Every HTML page, mounted here: the home page and the health check, then one package per area
(each lists its own routes)."""

from django.urls import include, path

from carethread.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("carethread.web.account.urls")),
    path("", include("carethread.web.admin.urls")),
    path("", include("carethread.web.messaging.urls")),
    path("", include("carethread.web.measures.urls")),
]

from django.urls import include, path

from carethread.web import views as web_views

urlpatterns = [
    path("", web_views.home, name="home"),
    path("healthz", web_views.healthz, name="healthz"),
    path("", include("carethread.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("api/", include("carethread.api.urls")),
    path("account/", include("carethread.api.page_urls")),
    path("account/", include("carethread.notifications.urls")),
    path("", include("carethread.web.urls")),
]

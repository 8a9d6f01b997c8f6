from django.urls import include, path

urlpatterns = [
    path("", include("carethread.web.urls")),
    path("accounts/", include("allauth.urls")),
    path("api/", include("carethread.api.urls")),
]

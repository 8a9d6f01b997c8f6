"""Mounted at /account/: the API token page."""

from django.urls import path

from carethread.api import views

urlpatterns = [
    path("api-tokens", views.token_list, name="api_tokens"),
    path("api-tokens/create", views.token_create, name="api_token_create"),
    path("api-tokens/<uuid:token_uuid>/revoke", views.token_revoke, name="api_token_revoke"),
]

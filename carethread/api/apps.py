from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "carethread.api"
    label = "api"

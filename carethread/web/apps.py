from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "carethread.web"
    label = "web"

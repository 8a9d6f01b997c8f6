from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "carethread.core"
    label = "core"
    verbose_name = "People and visits"

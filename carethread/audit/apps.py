from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "carethread.audit"
    label = "audit"

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "carethread.notifications"
    label = "notifications"
    verbose_name = "Notifications"

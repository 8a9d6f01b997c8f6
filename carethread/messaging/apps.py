import datetime as dt

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "carethread.messaging"
    label = "messaging"
    verbose_name = "Secure messaging"

    def ready(self) -> None:
        from carethread.crypto import registry
        from carethread.messaging import (
            attachments,
            emergency_report,
            fhir_import,
            models,
            notify,
            receivers,
        )
        from carethread.notifications.worker import register_periodic

        for model, field in models.ENCRYPTED_FIELDS:
            registry.register(model, field)
        fhir_import.register()
        notify.register()
        receivers.register()
        emergency_report.register()
        register_periodic(
            "messaging.stale_uploads", dt.timedelta(hours=1), attachments.purge_all_stale_uploads
        )

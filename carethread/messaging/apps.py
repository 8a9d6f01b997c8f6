from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "carethread.messaging"
    label = "messaging"
    verbose_name = "Secure messaging"

    def ready(self) -> None:
        from carethread.crypto import registry
        from carethread.messaging import fhir_import, models, notify

        for model, field in models.ENCRYPTED_FIELDS:
            registry.register(model, field)
        fhir_import.register()
        notify.register()

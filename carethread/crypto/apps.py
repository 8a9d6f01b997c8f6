from django.apps import AppConfig


class CryptoConfig(AppConfig):
    name = "carethread.crypto"
    label = "crypto"
    verbose_name = "Encryption at rest"

    def ready(self) -> None:
        from carethread.crypto import registry
        from carethread.crypto.mfa import MFASecretStore

        # allauth.mfa's secrets (TOTP keys, recovery-code seeds) are rotated with the rest.
        registry.register_store(MFASecretStore())

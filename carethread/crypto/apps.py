from django.apps import AppConfig


class CryptoConfig(AppConfig):
    name = "carethread.crypto"
    label = "crypto"
    verbose_name = "Encryption at rest"

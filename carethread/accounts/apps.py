from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "carethread.accounts"
    label = "accounts"

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "carethread.accounts"
    label = "accounts"

    def ready(self) -> None:
        from carethread.accounts import receivers  # noqa: F401  (connects the audit receivers)

from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "carethread.measures"
    label = "measures"
    verbose_name = "Measures"

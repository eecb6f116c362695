from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The floor every app may import: errors, rate limits, sampling, pagination, parameter
    parsing and page mixins. It imports no app of the project."""

    name = "core"
    verbose_name = "Core"

    def ready(self):
        from django.urls import register_converter

        from .converters import IdConverter

        register_converter(IdConverter, "id")

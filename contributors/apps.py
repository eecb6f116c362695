from django.apps import AppConfig


class ContributorsConfig(AppConfig):
    name = "contributors"
    verbose_name = "Contributors"

    def ready(self):
        from .api import schema  # noqa: F401  (registers the OpenAPI auth extensions)

from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "datasets"
    verbose_name = "Datasets"

    def ready(self):
        from core.image_queries import image_query_register

        from .query.compiler import image_filter

        image_query_register(image_filter)

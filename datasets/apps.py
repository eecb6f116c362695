from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "datasets"
    verbose_name = "Datasets"

    def ready(self):
        from core.events import listen
        from core.image_queries import image_query_register

        from .query.compiler import image_filter
        from .services import annotation_drawn

        image_query_register(image_filter)
        # The outlines' export forms follow their shapes (datasets.ExportOutline).
        listen("annotation.drawn", annotation_drawn)

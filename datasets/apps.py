from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "datasets"
    verbose_name = "Datasets"

    def ready(self):
        from core.events import listen
        from core.image_queries import image_query_register

        from .query.compiler import image_filter
        from .services import annotation_drawn, annotation_hidden

        image_query_register(image_filter)
        # The outlines' export forms follow their shapes (datasets.ExportOutline); an outline
        # hidden after reports leaves the exports until a moderator brings it back.
        listen("annotation.drawn", annotation_drawn)
        listen("annotation.hidden", annotation_hidden)

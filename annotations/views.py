from django.views.generic import TemplateView

from labels_app.models import ImageLabel, Label
from validations.views import label_param

BROWSE_SIZE = 24


class AnnotateView(TemplateView):
    """The annotation editor. The page leases its task through the API, so reloading or
    opening it in several tabs never takes two tasks (a live lease is handed back)."""

    template_name = "annotations/annotate.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            label=label_param(self.request),
            chosen_image=self.request.GET.get("image", "")[:36],
            chosen_label=self.request.GET.get("label", "")[:64],
            **kwargs,
        )


class BrowseView(TemplateView):
    """Browse mode: pick a label, then an image from the grid to annotate."""

    template_name = "annotations/browse.html"

    def get_context_data(self, **kwargs):
        label = label_param(self.request)
        tasks = []
        if label is not None:
            tasks = list(
                ImageLabel.objects.filter(
                    label=label, needs_annotation=True, annotation__isnull=True
                )
                .select_related("image")
                .order_by("random_key")[:BROWSE_SIZE]
            )
        labels = (
            Label.objects.active()
            .filter(image_labels__needs_annotation=True)
            .distinct()
            .order_by("name")[:60]
        )
        return super().get_context_data(label=label, tasks=tasks, labels=labels, **kwargs)

from django.contrib import messages
from django.shortcuts import redirect
from django.views.generic import TemplateView

from contributors.identity import contributor_for_write
from imagemonkey_site.errors import DomainError
from imagemonkey_site.ratelimits import rate_limit
from imagemonkey_site.views import DomainErrorPageMixin
from labels_app.models import ImageLabel, Label
from validations.views import label_param

from .services import annotation_vote_cast, next_annotation_review, refinement_values

BROWSE_SIZE = 24


class AnnotateView(TemplateView):
    """The annotation editor. The page leases its task through the API, so reloading or
    opening it in several tabs never takes two tasks (a live lease is handed back)."""

    template_name = "annotations/annotate.html"

    def get_context_data(self, **kwargs):
        # ?annotation=<id> opens the editor on an existing annotation to rework it.
        annotation = self.request.GET.get("annotation", "")[:12]
        return super().get_context_data(
            label=label_param(self.request),
            chosen_image=self.request.GET.get("image", "")[:36],
            chosen_label=self.request.GET.get("label", "")[:64],
            annotation_id=annotation if annotation.isdigit() else "",
            # Rework mode has no task payload, so the refinement choices come with the page.
            refinements=[
                {"name": name, "values": values}
                for name, values in sorted(refinement_values().items())
            ]
            if annotation.isdigit()
            else [],
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


class ReviewView(DomainErrorPageMixin, TemplateView):
    """“Is every dog outlined well?” — good, bad or not sure, one key each."""

    template_name = "annotations/review.html"

    def get_context_data(self, **kwargs):
        annotation = next_annotation_review(contributor=self.request.contributor)
        return super().get_context_data(annotation=annotation, **kwargs)

    def post(self, request):
        try:
            rate_limit(request, "vote")
            annotation_vote_cast(
                contributor=contributor_for_write(request),
                annotation_id=request.POST.get("annotation"),
                revision=int(request.POST.get("revision") or 0),
                answer=request.POST.get("answer", ""),
            )
        except DomainError as error:
            if error.status == 429:
                raise
            messages.error(request, error.message)
        except ValueError:
            messages.error(request, "That review was incomplete; please try again.")
        return redirect("annotate-review")

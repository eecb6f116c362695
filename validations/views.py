from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from contributors.identity import contributor_for_write
from core.errors import DomainError
from core.ratelimits import rate_limit
from core.views import DomainErrorPageMixin
from labels_app.models import Label

from .services import (
    GRID_SIZE,
    next_validation_grid,
    next_validation_task,
    validation_skip,
    vote_cast,
    votes_cast_batch,
)


def label_param(request) -> Label | None:
    name = (request.GET.get("label") or request.POST.get("label") or "").strip()[:64]
    return Label.objects.active().filter(name=name.lower()).first() if name else None


def _here(request, name: str, label: Label | None) -> str:
    url = reverse(name)
    return f"{url}?label={label.name}" if label else url


class ValidateView(DomainErrorPageMixin, TemplateView):
    """“Does this image show a dog?” — one question at a time; JavaScript adds keys and preloading,
    and without it the buttons post here."""

    template_name = "validations/validate.html"

    def get_context_data(self, **kwargs):
        label = label_param(self.request)
        task = next_validation_task(contributor=self.request.contributor, label=label)
        contributor = self.request.contributor
        return super().get_context_data(
            task=task,
            label=label,
            in_training=contributor is None or contributor.in_training,
            **kwargs,
        )

    def post(self, request):
        label = label_param(request)
        image_label_id = request.POST.get("image_label")
        contributor = contributor_for_write(request)
        if "skip" in request.POST:
            validation_skip(contributor=contributor, image_label_id=image_label_id)
            return redirect(_here(request, "validate", label))
        try:
            rate_limit(request, "vote")
            result = vote_cast(
                contributor=contributor,
                image_label_id=image_label_id,
                answer=request.POST.get("answer", ""),
            )
        except DomainError as error:
            if error.status == 429:
                raise
            messages.error(request, error.message)
            return redirect(_here(request, "validate", label))
        training_feedback_show(request, result.feedback)
        return redirect(_here(request, "validate", label))


def training_feedback_show(request, feedback: dict | None) -> None:
    """Tell a trainee whether their answer on a gold item was right (label or annotation)."""
    if not feedback:
        return
    expected = feedback["expected"]
    if feedback["correct"]:
        messages.success(request, f"Right — the answer was “{expected}”.")
    else:
        messages.warning(request, f"Not quite — the right answer was “{expected}”.")
    if feedback["training_passed"]:
        messages.success(request, "Training passed: your answers now count. Thank you!")


class ValidateGridView(DomainErrorPageMixin, TemplateView):
    """Many images of one label: tap those that do NOT show it, then submit all at once."""

    template_name = "validations/grid.html"

    def get_context_data(self, **kwargs):
        label = label_param(self.request)
        if label is None:
            task = next_validation_task(contributor=self.request.contributor)
            label = task.label if task else None
        tasks = (
            next_validation_grid(contributor=self.request.contributor, label=label, size=GRID_SIZE)
            if label
            else []
        )
        popular = (
            Label.objects.active()
            .filter(image_labels__in_queue=True)
            .distinct()
            .order_by("name")[:40]
        )
        return super().get_context_data(label=label, tasks=tasks, labels=popular, **kwargs)

    def post(self, request):
        label = label_param(request)
        ids = request.POST.getlist("image_label")
        not_shown = set(request.POST.getlist("not_shown"))
        if not ids:
            messages.error(request, "There was nothing to submit.")
            return redirect(_here(request, "validate-grid", label))
        rate_limit(request, "vote")
        answers = [
            {
                "image_label": image_label_id,
                "answer": "no" if image_label_id in not_shown else "yes",
            }
            for image_label_id in ids
        ]
        try:
            results = votes_cast_batch(contributor=contributor_for_write(request), answers=answers)
        except DomainError as error:
            if error.status == 429:
                raise
            messages.error(request, error.message)
        else:
            messages.success(request, f"Thank you! {len(results)} answers saved.")
        return redirect(_here(request, "validate-grid", label))

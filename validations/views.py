from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import ngettext
from django.views.generic import TemplateView

from contributors.identity import contributor_for_write
from core.errors import DomainError
from core.image_queries import image_query
from core.ratelimits import network_key, rate_limit
from core.views import DomainErrorPageMixin
from labels_app.models import GoldPool, Label
from labels_app.params import label_asked, label_param
from trust.feedback import training_feedback_show, training_feedback_take
from trust.served import audience_of

from .models import ValidationQuestion
from .services import (
    GRID_SIZE,
    next_validation_grid,
    next_validation_task,
    validation_skip,
    vote_cast,
    votes_cast_batch,
)


def _here(request, name: str, label: Label | None) -> str:
    """This page again, with its label and image query."""
    params = {"label": label.name} if label else {}
    if query := request.GET.get("q", "").strip():
        params["q"] = query
    url = reverse(name)
    return f"{url}?{urlencode(params)}" if params else url


class ValidateView(DomainErrorPageMixin, TemplateView):
    """“Does this image show a dog?” — one question at a time; JavaScript adds keys and preloading,
    and without it the buttons post here."""

    template_name = "validations/validate.html"

    def get_context_data(self, **kwargs):
        label = label_param(self.request)
        task = next_validation_task(
            contributor=self.request.contributor,
            label=label,
            audience=audience_of(self.request),
        )
        contributor = self.request.contributor
        return super().get_context_data(
            task=task,
            label=label,
            in_training=contributor is None or contributor.in_training,
            training_available=ValidationQuestion.objects.gold(GoldPool.TRAINING).exists(),
            training_feedback=training_feedback_take(self.request),
            **kwargs,
        )

    def post(self, request):
        label = label_param(request)
        image_label_id = request.POST.get("image_label")
        contributor = contributor_for_write(request)
        if "skip" in request.POST:
            rate_limit(request, "task")
            validation_skip(contributor=contributor, image_label_id=image_label_id)
            return redirect(_here(request, "validate", label))
        try:
            rate_limit(request, "vote")
            result = vote_cast(
                contributor=contributor,
                image_label_id=image_label_id,
                answer=request.POST.get("answer", ""),
                audience=audience_of(request),
                network=network_key(request),
            )
        except DomainError as error:
            if error.status == 429:
                raise
            messages.error(request, error.message)
            return redirect(_here(request, "validate", label))
        image_label = result.vote.image_label
        training_feedback_show(
            request, result.feedback, image_id=image_label.image_id, question=image_label.question
        )
        return redirect(_here(request, "validate", label))


class ValidateGridView(DomainErrorPageMixin, TemplateView):
    """Many images of one label: tap those that do NOT show it, then submit all at once."""

    template_name = "validations/grid.html"

    def get_context_data(self, **kwargs):
        label = label_param(self.request)
        # An unknown ?label= is named on the page, so nobody validates another label unawares.
        unknown_label = label_asked(self.request) if label is None else ""
        if label is None:
            task = next_validation_task(
                contributor=self.request.contributor, audience=audience_of(self.request)
            )
            label = task.label if task else None
        query, query_error, images = self.request.GET.get("q", "").strip(), "", None
        if query:
            try:
                images = image_query(query, include_open=True)
            except DomainError as error:
                query_error = error.message
        tasks = (
            next_validation_grid(
                contributor=self.request.contributor,
                label=label,
                size=GRID_SIZE,
                audience=audience_of(self.request),
                images=images,
            )
            if label and not query_error
            else []
        )
        popular = (
            Label.objects.active()
            .filter(image_labels__in_queue=True)
            .distinct()
            .order_by("name")[:40]
        )
        return super().get_context_data(
            label=label,
            tasks=tasks,
            labels=popular,
            unknown_label=unknown_label,
            q=query,
            query_error=query_error,
            **kwargs,
        )

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
            results = votes_cast_batch(
                contributor=contributor_for_write(request),
                answers=answers,
                audience=audience_of(request),
                network=network_key(request),
            )
        except DomainError as error:
            if error.status == 429:
                raise
            messages.error(request, error.message)
        else:
            saved = len(results)
            messages.success(
                request,
                ngettext(
                    "Thank you! %(count)d answer saved.",
                    "Thank you! %(count)d answers saved.",
                    saved,
                )
                % {"count": saved},
            )
        return redirect(_here(request, "validate-grid", label))

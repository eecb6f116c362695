from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from contributors.identity import contributor_for_write
from core.errors import DomainError
from core.image_queries import image_query
from core.params import id_list
from core.ratelimits import rate_limit
from core.views import DomainErrorPageMixin
from donations.models import Image
from labels_app.models import ImageLabel, Label
from labels_app.params import label_param
from trust.feedback import training_feedback_show, training_feedback_take
from trust.served import audience_of

from .models import Annotation, RefinementQuestion
from .services import (
    annotation_vote_cast,
    next_annotation_review,
    next_refinement_question,
    refinement_answer,
    refinement_choices,
)
from .shapes import shape_bounds

BROWSE_SIZE = 24


class AnnotateView(TemplateView):
    """The annotation editor. The page leases its task through the API, so reloading or
    opening it in several tabs never takes two tasks (a live lease is handed back)."""

    template_name = "annotations/annotate.html"

    def get_context_data(self, **kwargs):
        # ?annotation=<id> opens the editor on an existing annotation to rework it.
        annotation = self.request.GET.get("annotation", "")[:12]
        reworked = (
            Annotation.objects.select_related("image_label__label").filter(pk=annotation).first()
            if annotation.isdigit()
            else None
        )
        return super().get_context_data(
            label=label_param(self.request),
            chosen_image=self.request.GET.get("image", "")[:36],
            chosen_label=self.request.GET.get("label", "")[:64],
            annotation_id=annotation if annotation.isdigit() else "",
            # Rework mode has no task payload, so the refinement choices come with the page.
            refinements=refinement_choices(reworked.image_label.label) if reworked else [],
            **kwargs,
        )


class BrowseView(TemplateView):
    """Browse mode: pick a label, then an image from the grid to annotate."""

    template_name = "annotations/browse.html"

    def get_context_data(self, **kwargs):
        label = label_param(self.request)
        query, query_error = self.request.GET.get("q", "").strip(), ""
        tasks = []
        if label is not None:
            rows = ImageLabel.objects.filter(
                label=label, needs_annotation=True, annotation__isnull=True
            )
            if query:
                try:
                    images = Image.objects.filter(image_query(query, include_open=True))
                    rows = rows.filter(image__in=images.values("pk"))
                except DomainError as error:
                    rows, query_error = rows.none(), error.message
            tasks = list(rows.select_related("image").order_by("random_key")[:BROWSE_SIZE])
        labels = (
            Label.objects.active()
            .filter(image_labels__needs_annotation=True)
            .distinct()
            .order_by("name")[:60]
        )
        return super().get_context_data(
            label=label, tasks=tasks, labels=labels, q=query, query_error=query_error, **kwargs
        )


class ReviewView(DomainErrorPageMixin, TemplateView):
    """“Is every dog outlined well?” — good, bad or not sure, one key each."""

    template_name = "annotations/review.html"

    def get_context_data(self, **kwargs):
        contributor = self.request.contributor
        audience = audience_of(self.request)
        annotation = next_annotation_review(contributor=contributor, audience=audience)
        # The one after it, so the browser fetches its image while this one is judged.
        upcoming = (
            next_annotation_review(
                contributor=contributor, exclude=(annotation.pk,), audience=audience
            )
            if annotation
            else None
        )
        return super().get_context_data(
            annotation=annotation,
            upcoming=upcoming,
            in_training=contributor is None or contributor.in_training,
            training_feedback=training_feedback_take(self.request),
            **kwargs,
        )

    def post(self, request):
        try:
            rate_limit(request, "vote")
            result = annotation_vote_cast(
                contributor=contributor_for_write(request),
                annotation_id=request.POST.get("annotation"),
                revision=int(request.POST.get("revision") or 0),
                answer=request.POST.get("answer", ""),
                audience=audience_of(request),
            )
        except DomainError as error:
            if error.status == 429:
                raise
            messages.error(request, error.message)
        except ValueError:
            messages.error(request, "That review was incomplete; please try again.")
        else:
            if result.feedback:
                annotation = result.vote.annotation
                training_feedback_show(
                    request,
                    result.feedback,
                    image_id=annotation.image_label.image_id,
                    question=review_question(annotation),
                    shapes=annotation.shapes,
                )
        return redirect("annotate-review")


def review_question(annotation: Annotation) -> str:
    return f"Is every {annotation.image_label.label.name} outlined well?"


QUIZ_KEYS = "1234567890qwertyuiop"
# The quiz view zooms onto the shape, keeping this much of its size as context on each side.
QUIZ_CONTEXT = 0.5
QUIZ_MIN_VIEW = 0.25
QUIZ_MAX_SKIPPED = 20


def quiz_view_box(question: RefinementQuestion) -> str:
    """An SVG viewBox, in image pixels, around the question's shape with some context, so a
    small object is shown large enough to tell its colour or material."""
    image = question.annotation.image_label.image
    left, top, right, bottom = shape_bounds(question.annotation.shapes[question.shape_index])
    half_width = max((right - left) * (0.5 + QUIZ_CONTEXT), QUIZ_MIN_VIEW / 2)
    half_height = max((bottom - top) * (0.5 + QUIZ_CONTEXT), QUIZ_MIN_VIEW / 2)
    centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
    x0, x1 = max(0.0, centre_x - half_width), min(1.0, centre_x + half_width)
    y0, y1 = max(0.0, centre_y - half_height), min(1.0, centre_y + half_height)
    return (
        f"{x0 * image.width:.1f} {y0 * image.height:.1f} "
        f"{(x1 - x0) * image.width:.1f} {(y1 - y0) * image.height:.1f}"
    )


def quiz_exclude(request) -> tuple[int, ...]:
    """Question ids skipped on this page (?skip=1,2), so Skip moves on to another one."""
    return id_list(request.GET.get("skip"), name="skip", limit=QUIZ_MAX_SKIPPED)


def skip_param(ids) -> str:
    return ",".join(str(pk) for pk in ids[-QUIZ_MAX_SKIPPED:])


class QuizView(DomainErrorPageMixin, TemplateView):
    """“What colour is this car?” — one refinement of one outlined object, with “don't know”."""

    template_name = "annotations/quiz.html"

    def get_context_data(self, **kwargs):
        skipped = quiz_exclude(self.request)
        audience = audience_of(self.request)
        question = next_refinement_question(
            contributor=self.request.contributor, exclude=skipped, audience=audience
        )
        upcoming = None
        if question is not None:
            upcoming = next_refinement_question(
                contributor=self.request.contributor,
                exclude=(*skipped, question.pk),
                audience=audience,
            )
        return super().get_context_data(
            question=question,
            choices=list(zip(QUIZ_KEYS, question.refinement.values, strict=False))
            if question
            else [],
            shape_list=[question.annotation.shapes[question.shape_index]] if question else [],
            view_box=quiz_view_box(question) if question else "",
            skipped=skip_param(skipped),
            skip=skip_param((*skipped, question.pk)) if question else "",
            upcoming=upcoming,
            **kwargs,
        )

    def post(self, request):
        dont_know = request.POST.get("dont_know") == "1"
        try:
            rate_limit(request, "vote")
            refinement_answer(
                contributor=contributor_for_write(request),
                question_id=request.POST.get("question"),
                value=None if dont_know else request.POST.get("value", ""),
                audience=audience_of(request),
            )
        except DomainError as error:
            if error.status == 429:
                raise
            messages.error(request, error.message)
        # Questions skipped earlier stay skipped while the contributor keeps answering.
        skipped = skip_param(quiz_exclude(request))
        return redirect(reverse("annotate-quiz") + (f"?skip={skipped}" if skipped else ""))

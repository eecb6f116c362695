from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import TemplateView

from contributors.identity import contributor_for_write
from core.errors import DomainError
from core.ratelimits import rate_limit
from core.views import DomainErrorPageMixin
from donations.models import Image

from .services import MAX_LABEL_LENGTH, labelling_skip, labels_add, next_labelling_task


def _chosen_image(request, image_id):
    if not image_id:
        return None
    try:
        image = Image.objects.visible_to_request(request).filter(pk=image_id).first()
    except ValidationError:  # not a UUID
        image = None
    if image is None:
        raise Http404("No such image.")
    return image


class LabelView(DomainErrorPageMixin, TemplateView):
    """“What is in this image?” — several labels at once, with autocomplete; free words become
    suggestions for the moderators."""

    template_name = "labels_app/label.html"

    def get_context_data(self, **kwargs):
        image = _chosen_image(self.request, self.request.GET.get("image"))
        if image is None:
            image = next_labelling_task(contributor=self.request.contributor)
        labels = (
            list(image.image_labels.standing().select_related("label").order_by("label__name"))
            if image
            else []
        )
        return super().get_context_data(
            image=image, image_labels=labels, max_length=MAX_LABEL_LENGTH, **kwargs
        )

    def post(self, request):
        image = _chosen_image(request, request.POST.get("image"))
        if image is None:
            raise Http404("No such image.")
        contributor = contributor_for_write(request)
        if "skip" in request.POST:
            rate_limit(request, "task")
            labelling_skip(contributor=contributor, image=image)
            return redirect("label")
        texts = [text for text in request.POST.get("labels", "").split(",") if text.strip()]
        try:
            rate_limit(request, "label")
            result = labels_add(contributor=contributor, image=image, texts=texts)
        except DomainError as error:
            if error.status == 429:
                raise
            messages.error(request, error.message)
            return redirect(f"{request.path}?image={image.pk}")
        added = ", ".join(il.label.name for il in result.added)
        if added:
            messages.success(request, f"Added: {added}. Others will now check them.")
        if result.suggested:
            words = ", ".join(s.text for s in result.suggested)
            messages.info(request, f"Not in the catalog yet, noted as suggestions: {words}.")
        if result.already_there and not added and not result.suggested:
            messages.info(request, "Those labels were already on the image.")
        return redirect("label")

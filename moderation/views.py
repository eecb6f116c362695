import uuid

from django.views.generic import FormView

from contributors.identity import contributor_for_write
from core.errors import DomainError
from core.ratelimits import network_key, rate_limit
from core.views import DomainErrorPageMixin
from donations.models import Image

from .forms import ReportForm
from .services import NOT_REPORTABLE, report_submit


class ReportView(DomainErrorPageMixin, FormView):
    """Report an image: the page behind every report link (the dialog does the same through
    the API when JavaScript runs)."""

    template_name = "moderation/report.html"
    form_class = ReportForm

    def get_initial(self):
        return {"image": self.request.GET.get("image", "")}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        image_id = form.data.get("image") if form.is_bound else form.initial.get("image")
        try:
            image_id = uuid.UUID(str(image_id))
        except ValueError:  # not an id at all: the page says so as for an unknown one
            context["image"] = None
        else:
            context["image"] = Image.objects.public().filter(pk=image_id).first()
        context["not_reportable"] = NOT_REPORTABLE
        return context

    def render_to_response(self, context, **response_kwargs):
        if context["image"] is None and not context.get("thanked"):
            response_kwargs["status"] = 404
        return super().render_to_response(context, **response_kwargs)

    def form_valid(self, form):
        rate_limit(self.request, "report")
        try:
            report_submit(
                reporter=lambda: contributor_for_write(self.request),
                image_id=form.cleaned_data["image"],
                reason=form.cleaned_data["reason"],
                text=form.cleaned_data["text"],
                network=network_key(self.request),
            )
        except DomainError as error:
            if error.code == "banned" or error.status == 429:
                raise
            form.add_error(None, error.message)
            return self.form_invalid(form)
        return self.render_to_response(self.get_context_data(form=form, thanked=True))

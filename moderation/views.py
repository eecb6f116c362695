from django.views.generic import FormView

from contributors.identity import contributor_for_write
from core.errors import DomainError
from core.ratelimits import network_key, rate_limit
from core.views import DomainErrorPageMixin

from .forms import ReportForm
from .models import TargetType
from .services import NOT_REPORTABLE, report_submit, reportable_or_none


class ReportView(DomainErrorPageMixin, FormView):
    """Report an image (?image=) or an annotation (?annotation=): the page behind every report
    link (the dialog does the same through the API when JavaScript runs)."""

    template_name = "moderation/report.html"
    form_class = ReportForm

    def get_initial(self):
        return {name: self.request.GET.get(name, "") for name in ("image", "annotation")}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        values = form.data if form.is_bound else form.initial
        target_type = TargetType.ANNOTATION if values.get("annotation") else TargetType.IMAGE
        item = reportable_or_none(target_type, values.get(target_type))
        # What the page shows: the image, or the image the annotation outlines.
        if item is None:
            image_id = None
        elif target_type == TargetType.ANNOTATION:
            image_id = item.image_label.image_id
        else:
            image_id = item.pk
        context.update(
            target_type=target_type,
            item=item,
            image_id=image_id,
            not_reportable=NOT_REPORTABLE[target_type],
        )
        return context

    def render_to_response(self, context, **response_kwargs):
        if context["item"] is None and not context.get("thanked"):
            response_kwargs["status"] = 404
        return super().render_to_response(context, **response_kwargs)

    def form_valid(self, form):
        rate_limit(self.request, "report")
        annotation = form.cleaned_data["annotation"]
        try:
            report_submit(
                reporter=lambda: contributor_for_write(self.request),
                image_id=None if annotation else form.cleaned_data["image"],
                annotation_id=annotation,
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

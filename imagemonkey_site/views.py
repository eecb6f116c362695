from django.http import HttpResponse
from django.shortcuts import render
from django.views.generic import TemplateView

from imagemonkey_site.errors import DomainError

from .live import site_totals


class DomainErrorPageMixin:
    """Shows a DomainError raised anywhere in the view as a friendly page with its status."""

    error_template_name = "error.html"

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except DomainError as error:
            response = render(
                request,
                self.error_template_name,
                {"message": error.message, "code": error.code},
                status=error.status,
            )
            if "retry_after" in error.extra:
                response["Retry-After"] = str(error.extra["retry_after"])
            return response


class HomeView(TemplateView):
    template_name = "home.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(totals=site_totals(), **kwargs)


def robots_txt(request):
    return HttpResponse(
        "User-agent: *\nDisallow: /api/\nDisallow: /admin/\n", content_type="text/plain"
    )

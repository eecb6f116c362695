from django.http import HttpResponse
from django.views.generic import TemplateView

from .live import site_totals


class HomeView(TemplateView):
    template_name = "home.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(totals=site_totals(), **kwargs)


def robots_txt(request):
    return HttpResponse(
        "User-agent: *\nDisallow: /api/\nDisallow: /admin/\n", content_type="text/plain"
    )

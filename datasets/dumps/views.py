from django.core.files.storage import FileSystemStorage, default_storage
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.generic import TemplateView

from core.errors import DomainError

from ..models import DatasetRelease
from .releases import release_download

RELEASES_SHOWN = 50


class ReleasesPageView(TemplateView):
    """The public releases with their sizes, counts and checksums; `?download=<release>/<file>`
    hands out one of their files from media storage."""

    template_name = "datasets/releases.html"

    def get(self, request, *args, **kwargs):
        if "download" in request.GET:
            return self._download(request.GET["download"])
        return super().get(request, *args, **kwargs)

    def _download(self, reference: str):
        try:
            _release, stored = release_download(reference=reference)
        except DomainError as refusal:
            raise Http404(refusal.message) from None
        if not isinstance(default_storage, FileSystemStorage):
            # Object storage serves the bytes itself, through a signed, expiring URL.
            return HttpResponseRedirect(default_storage.url(stored))
        response = FileResponse(
            default_storage.open(stored, "rb"), as_attachment=True, filename=stored.split("/")[-1]
        )
        response["X-License"] = "CC0-1.0"
        return response

    def get_context_data(self, **kwargs):
        page = reverse("dataset-releases")
        releases = []
        for release in DatasetRelease.objects.all()[:RELEASES_SHOWN]:
            files = [
                {
                    **entry,
                    "url": f"{page}?{urlencode({'download': release.name + '/' + entry['name']})}",
                }
                for entry in release.files
            ]
            releases.append({"release": release, "files": files, "counts": release.counts.items()})
        return super().get_context_data(releases=releases, **kwargs)

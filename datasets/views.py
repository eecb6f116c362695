from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.generic import TemplateView

from core.errors import DomainError

from .jobs import export_job_requested
from .live import job_progress
from .models import ExportJob
from .services import (
    ARCHIVE_ONLY_FORMATS,
    STREAM_FORMATS,
    export_parameters,
    export_preview,
    export_request_from,
    export_select,
)

FORMAT_NAMES = {
    "json": "JSON (native)",
    "jsonl": "JSON Lines",
    "csv": "CSV (Open Images style)",
    "coco": "COCO instances",
    "parquet": "Parquet tables",
    "voc": "Pascal VOC (archive)",
    "yolo": "YOLO detection (archive)",
    "yolo_seg": "YOLO segmentation (archive)",
    "imagefolder": "ImageFolder (archive)",
}


class ExportPageView(TemplateView):
    """Build a query, see what it matches, then download it streamed or as an archive."""

    template_name = "datasets/export.html"

    def get_context_data(self, **kwargs):
        parameters = export_parameters(self.request.GET)
        preview, error, export = None, "", None
        if "query" in self.request.GET:
            try:
                export = export_request_from(parameters)
                preview = export_preview(export_select(export))
            except DomainError as refusal:
                error = refusal.message
        streamable = export is not None and not export.is_archive and not error
        api_parameters = {**parameters, "format": parameters.get("format", "json")}
        return super().get_context_data(
            values=parameters,
            preview=preview,
            error=error,
            formats=FORMAT_NAMES.items(),
            archive_only=ARCHIVE_ONLY_FORMATS,
            stream_formats=STREAM_FORMATS,
            stream_url=f"{reverse('api-export')}?{urlencode(api_parameters)}" if streamable else "",
            jobs=[job_progress(job) for job in ExportJob.objects.of(self.request.contributor)[:5]],
            **kwargs,
        )

    def post(self, request):
        parameters = export_parameters(request.POST)
        back = f"{reverse('export')}?{urlencode(parameters)}"
        try:
            job = export_job_requested(request, parameters)
        except DomainError as refusal:
            messages.error(request, refusal.message)
            return redirect(back)
        return redirect("export-job", pk=job.pk)


class ExportJobPageView(TemplateView):
    """One archive export: live progress (websocket, or polling where that fails), then the
    download link."""

    template_name = "datasets/export_job.html"

    def get_context_data(self, **kwargs):
        job = ExportJob.objects.of(self.request.contributor).filter(pk=kwargs["pk"]).first()
        if job is None:
            raise Http404("You have no export with this id.")
        return super().get_context_data(
            job=job_progress(job),
            format_name=FORMAT_NAMES.get(job.params.get("format"), ""),
            **kwargs,
        )

from django.core.files.storage import default_storage
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.renderers import FastJSONRenderer
from core.errors import DomainError
from core.ratelimits import rate_limit
from datasets.formats import MEDIA_TYPES
from datasets.jobs import export_job_requested
from datasets.live import job_progress
from datasets.models import ExportJob, ExportJobState
from datasets.query.parser import MAX_QUERY_LENGTH
from datasets.services import (
    FORMATS,
    MAX_COUNT,
    PARQUET_TABLES,
    export_file_name,
    export_job_for_link,
    export_preview,
    export_request_from,
    export_select,
    export_stream,
    export_stream_check,
)

from .serializers import ExportCountSerializer, ExportJobInputSerializer, ExportJobSerializer

COUNT_SCHEMA = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}
EXPORT_PARAMETERS = [
    OpenApiParameter(
        "query",
        {"type": "string", "maxLength": MAX_QUERY_LENGTH},
        description="e.g. dog & ~cat (see the README)",
    ),
    OpenApiParameter("format", str, enum=FORMATS, default="json"),
    OpenApiParameter("min_probability", {"type": "number", "minimum": 0, "maximum": 1}),
    OpenApiParameter("min_votes", COUNT_SCHEMA),
    OpenApiParameter("annotations_only", bool),
    OpenApiParameter("include_negatives", bool, default=True),
    OpenApiParameter("seed", COUNT_SCHEMA, description="for `order by random`"),
    OpenApiParameter(
        "table", str, enum=PARQUET_TABLES, description="which table, for format=parquet"
    ),
    OpenApiParameter("include_images", bool, description="archives only (jobs)"),
]


class ExportParametersView(APIView):
    """Views that read the export parameters, where `format` names the export format, not a
    DRF renderer (errors are always JSON)."""

    def perform_content_negotiation(self, request, force=False):
        renderer = FastJSONRenderer()
        return renderer, renderer.media_type


class ExportView(ExportParametersView):
    """The dataset, or the part a query selects, streamed as JSON, JSON Lines, CSV, COCO or
    Parquet (CC0)."""

    @extend_schema(
        request=None,
        parameters=EXPORT_PARAMETERS,
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/vnd.apache.parquet"): OpenApiTypes.BINARY,
        },
    )
    def get(self, request):
        export = export_request_from(request.query_params)
        export_stream_check(export)
        rate_limit(request, "export")
        selection = export_select(export)
        chunks = export_stream(selection, base_url=request.build_absolute_uri("/").rstrip("/"))
        response = StreamingHttpResponse(chunks, content_type=MEDIA_TYPES[export.format])
        response["Content-Disposition"] = f'attachment; filename="{export_file_name(export)}"'
        response["X-License"] = "CC0-1.0"
        return response


# The JSON type each parameter takes in a job's body (the query string's rules then apply).
BODY_TYPES = {
    "query": (str, "text"),
    "format": (str, "text"),
    "table": (str, "text"),
    "min_probability": ((int, float), "a number"),
    "min_votes": (int, "a whole number"),
    "seed": (int, "a whole number"),
    "annotations_only": (bool, "true or false"),
    "include_negatives": (bool, "true or false"),
    "include_images": (bool, "true or false"),
}


def _as_parameters(data) -> dict[str, str]:
    """A JSON body as the query-string parameters the export rules read, each of its type."""
    if not isinstance(data, dict):
        raise DomainError("Send the export's parameters as a JSON object.", code="invalid")
    parameters = {}
    for name, value in data.items():
        kind, words = BODY_TYPES.get(name, (object, ""))
        if kind is not object and (
            not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
        ):
            raise DomainError(f"{name} must be {words}.", code=f"invalid_{name}")
        if isinstance(value, bool):
            parameters[name] = "true" if value else "false"
        else:
            parameters[str(name)] = str(value)
    return parameters


class ExportJobCreate(APIView):
    """Start an archive export: the image files as stored plus the format's files in one ZIP
    (COCO, Pascal VOC, YOLO, ImageFolder, or JSON/CSV/Parquet with the images), built in the
    background. The same export of the same data is handed back at once."""

    @extend_schema(
        request=ExportJobInputSerializer,
        responses={202: ExportJobSerializer, 200: ExportJobSerializer},
    )
    def post(self, request):
        job = export_job_requested(request, _as_parameters(request.data))
        done = job.state == ExportJobState.DONE
        return Response(
            job_progress(job), status=status.HTTP_200_OK if done else status.HTTP_202_ACCEPTED
        )


class ExportJobDetail(APIView):
    """One of your archive exports: its state, progress and, once done, a download link."""

    @extend_schema(responses={200: ExportJobSerializer})
    def get(self, request, pk):
        job = ExportJob.objects.of(request.contributor).filter(pk=pk).first()
        if job is None:
            raise DomainError("You have no export with this id.", code="not_found", status=404)
        return Response(job_progress(job))


class ExportDownload(APIView):
    """The archive a download link names (links expire: 410)."""

    @extend_schema(
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request, token):
        job = export_job_for_link(token)
        response = FileResponse(
            default_storage.open(job.archive, "rb"),
            as_attachment=True,
            filename=f"imagemonkey-{job.params.get('format', 'export')}-{job.pk}.zip",
            content_type="application/zip",
        )
        response["X-License"] = "CC0-1.0"
        return response


class ExportCount(ExportParametersView):
    """How many images and image-labels an export would hold, and a few sample images — the
    export page's live count."""

    @extend_schema(
        parameters=EXPORT_PARAMETERS,
        responses={200: ExportCountSerializer},
    )
    def get(self, request):
        selection = export_select(export_request_from(request.query_params))
        rate_limit(request, "export")
        preview = export_preview(selection)
        preview["samples"] = [
            {"id": pk, "thumbnail": reverse("image-file", kwargs={"pk": pk, "variant": "small"})}
            for pk in preview["samples"]
        ]
        return Response(preview)

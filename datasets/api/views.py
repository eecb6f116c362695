from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from core.ratelimits import rate_limit
from datasets.formats import MEDIA_TYPES
from datasets.query.parser import MAX_QUERY_LENGTH
from datasets.services import (
    FORMATS,
    MAX_COUNT,
    PARQUET_TABLES,
    export_file_name,
    export_request_from,
    export_select,
    export_stream,
)

COUNT_SCHEMA = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}


def _streamed(chunks, request):
    """Under ASGI an async iterator (a sync one would be read whole before the first byte);
    under WSGI and the test client the generator itself."""
    if not isinstance(request, ASGIRequest):
        return chunks

    async def pump():
        source = iter(chunks)
        while (chunk := await sync_to_async(next)(source, None)) is not None:
            yield chunk

    return pump()


class ExportView(APIView):
    """The dataset, or the part a query selects, streamed as JSON, JSON Lines, CSV, COCO or
    Parquet (CC0)."""

    def perform_content_negotiation(self, request, force=False):
        # `format` names the export format here, not a DRF renderer; errors are always JSON.
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    @extend_schema(
        request=None,
        parameters=[
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
        ],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/vnd.apache.parquet"): OpenApiTypes.BINARY,
        },
    )
    def get(self, request):
        export = export_request_from(request.query_params)
        rate_limit(request, "export")
        selection = export_select(export)
        chunks = export_stream(selection, base_url=request.build_absolute_uri("/").rstrip("/"))
        response = StreamingHttpResponse(
            _streamed(chunks, request._request), content_type=MEDIA_TYPES[export.format]
        )
        response["Content-Disposition"] = f'attachment; filename="{export_file_name(export)}"'
        response["X-License"] = "CC0-1.0"
        return response

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from contributors.identity import contributor_for_write
from core.ratelimits import network_key, rate_limit
from moderation.services import report_submit

from .serializers import ReportInputSerializer, ReportSerializer


class ReportCreate(APIView):
    """Report an image, or an annotation, that should not be in the dataset; anyone may,
    without an account."""

    @extend_schema(
        request=ReportInputSerializer,
        responses={
            201: ReportSerializer,
            400: OpenApiResponse(description="Unknown reason, text too long, 'other' without text"),
            403: OpenApiResponse(description="You are banned from contributing"),
            404: OpenApiResponse(description="No public image or visible annotation with that id"),
            429: OpenApiResponse(description="Rate limit reached; see Retry-After"),
        },
    )
    def post(self, request):
        serializer = ReportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rate_limit(request, "report")
        result = report_submit(
            reporter=lambda: contributor_for_write(request),
            image_id=serializer.validated_data["image"],
            annotation_id=serializer.validated_data["annotation"],
            reason=serializer.validated_data["reason"],
            text=serializer.validated_data["text"],
            network=network_key(request),
        )
        # A repeat answers like a first report: the reporter learns nothing from the difference.
        return Response(ReportSerializer(result.report).data, status=status.HTTP_201_CREATED)

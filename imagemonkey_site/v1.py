"""/v1 routes that join apps of the same layer: reports (moderation) on the /v1 wire (datasets).

The top of the site may import both; datasets and moderation may not import each other."""

from drf_spectacular.utils import OpenApiResponse, extend_schema

from core.ratelimits import network_key, rate_limit
from datasets.v1.wire import V1Error, V1View, body_json, is_uuid, null, writer
from moderation.models import ReportReason
from moderation.services import report_submit

REPORT_TEXT_MAX = 500  # as the site's own report form


class Report(V1View):
    @extend_schema(
        summary="Report an image (body {'reason': str})",
        request={"application/json": {"type": "object", "properties": {"reason": {}}}},
        responses={
            200: OpenApiResponse(description="null"),
            400: OpenApiResponse(description="reason missing"),
            404: OpenApiResponse(description="No public image with that id"),
        },
    )
    def post(self, request, image_id):
        missing = "reason missing - please provide a valid 'reason'"
        body = body_json(request, message=missing, types=(dict,))
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise V1Error(400, missing)
        if not is_uuid(image_id):
            raise V1Error(404, "No public image with that id.")
        django_request = request._request
        rate_limit(django_request, "report")
        # The original's reason is free text; one of the site's reasons is taken as that reason.
        known = reason.strip().lower().replace(" ", "_")
        if known in ReportReason.values and known != ReportReason.OTHER:
            reason, text = known, ""
        else:
            reason, text = ReportReason.OTHER, reason.strip()[:REPORT_TEXT_MAX]
        report_submit(
            reporter=lambda: writer(django_request),
            reason=reason,
            image_id=image_id,
            text=text,
            network=network_key(django_request),
        )
        return null()

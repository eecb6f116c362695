"""Every API error has one JSON shape: {"code": ..., "detail": ..., ["fields": {...}]}."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import DomainError


def _flatten(detail) -> str:
    if isinstance(detail, list):
        return " ".join(_flatten(item) for item in detail)
    if isinstance(detail, dict):
        return " ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    return str(detail)


def domain_error_payload(error: DomainError) -> dict:
    return {"code": error.code, "detail": error.message, **error.extra}


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        response = Response(domain_error_payload(exc), status=exc.status)
        if "retry_after" in exc.extra:
            response["Retry-After"] = str(exc.extra["retry_after"])
        return response
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {
                "code": "body_too_large",
                "detail": f"The request body is larger than {limit // 1024} KB.",
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {
            "code": "invalid",
            "detail": _flatten(fields),
            "fields": fields,
        }
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = {
            "code": codes if isinstance(codes, str) else "error",
            "detail": _flatten(detail),
        }
    return response


def api_not_found(request, *args, **kwargs):
    """JSON 404 for unknown /api/ paths, instead of the site's HTML page."""
    return JsonResponse(
        {"code": "not_found", "detail": f"No API endpoint at {request.path}."},
        status=status.HTTP_404_NOT_FOUND,
    )

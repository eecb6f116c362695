"""The OpenAPI schema documents every error an operation can answer, in the one error shape."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class ErrorSerializer(serializers.Serializer):
    """Every API error: a stable code, a sentence a person can act on, and for invalid input the
    message per field. Some errors add context (`retry_after`, `image_id`, `current_revision`)."""

    code = serializers.CharField(help_text="Stable, for programs: e.g. invalid, rate_limited")
    detail = serializers.CharField(help_text="What was wrong, in a sentence")
    fields = serializers.DictField(
        required=False, help_text="For code `invalid`: the messages per field"
    )


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)


class ErrorDocumentingAutoSchema(AutoSchema):
    """drf-spectacular's schema plus the errors the site's shared layers can answer anywhere
    (bad input, credentials, CSRF, rate limits, body limits), so clients see them per operation
    and the schema fuzzer can hold responses to them."""

    def error_responses(self) -> dict[int, OpenApiResponse]:
        errors = {
            400: _error("Bad input: `detail` names the parameter or field and the problem"),
            401: _error("The API token is invalid or revoked"),
        }
        if self.method in UNSAFE_METHODS or self._needs_authentication():
            errors[403] = _error(
                "Refused: missing CSRF token (website sessions), a suspended account, or no "
                "permission"
            )
        if self.method in UNSAFE_METHODS or "{" in self.path:
            errors[404] = _error("No such object (or not visible to you)")
        if self.method in UNSAFE_METHODS:
            errors[409] = _error(
                "Conflicts with the current state: already answered or decided, leased to "
                "someone else, no longer public; `detail` says which"
            )
            errors[429] = _error("Rate limit reached: see the Retry-After header")
            if self.get_request_serializer() is not None:
                errors[413] = _error("The body is over the size limit")
                errors[415] = _error("The body's content type is not accepted here")
        return errors

    def _needs_authentication(self) -> bool:
        return any(
            isinstance(permission, IsAuthenticated) for permission in self.view.get_permissions()
        )

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status_code, response in self.error_responses().items():
            code = str(status_code)
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        for code, response in responses.items():
            if int(code) >= 400 and not response.get("content"):
                # An error documented in a view with a description only: give it the shape.
                described = _error(response.get("description", ""))
                responses[code] = self._get_response_for_code(described, code, direction=direction)
        return responses


def empty_query_values_allowed(result, generator, request, public):
    """drf-spectacular postprocessing hook: an empty optional query parameter (`?label=`) means
    "not given" everywhere in this API, as in an HTML form; the schema says so."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
    return result

"""Page mixins shared by every app's views."""

from django.shortcuts import render

from core.errors import DomainError


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

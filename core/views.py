"""Page mixins shared by every app's views."""

from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader

from core.api.errors import error_json
from core.errors import DomainError, suspicious_request_error


class DomainErrorPageMixin:
    """Shows a DomainError raised anywhere in the view as a friendly page with its status."""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except DomainError as error:
            return domain_error_page(request, error)


# --- Error pages: JSON under /api/, the site's own pages elsewhere ----------------------------
# Django calls these for what no view handled: refused requests (400), permissions (403),
# unknown paths (404), unhandled exceptions (500, logged by Django's request logger first).


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception=None):
    error = suspicious_request_error(exception)
    if _is_api(request):
        return error_json(error.code, error.message, error.status)
    return render(
        request,
        "error.html",
        {"message": error.message, "code": error.code},
        status=error.status,
    )


def permission_denied(request, exception=None):
    message = "You do not have permission to do that."
    if _is_api(request):
        return error_json("permission_denied", message, 403)
    return render(
        request, "error.html", {"message": message, "code": "permission_denied"}, status=403
    )


def page_not_found(request, exception=None):
    if _is_api(request):
        return error_json("not_found", f"No API endpoint or object at {request.path}.", 404)
    return render(request, "404.html", status=404)


def server_error(request):
    if _is_api(request):
        return error_json(
            "server_error",
            "Something went wrong on our side; it has been logged. Please try again later.",
            500,
        )
    # No context and no base template: the database or a context processor may be what failed.
    return HttpResponseServerError(loader.get_template("500.html").render())


def csrf_failure(request, reason=""):
    if _is_api(request):
        return error_json(
            "csrf_failed",
            "This request needs the site's CSRF token: send the X-CSRFToken header with the "
            "value of the csrftoken cookie (scripts can use an API token instead).",
            403,
        )
    return render(request, "403_csrf.html", status=403)


def domain_error_page(request, error: DomainError):
    """A DomainError as JSON under /api/, as the site's error page elsewhere."""
    if _is_api(request):
        response = error_json(error.code, error.message, error.status)
    else:
        context = {"message": error.message, "code": error.code}
        response = render(request, "error.html", context, status=error.status)
    if "retry_after" in error.extra:
        response["Retry-After"] = str(error.extra["retry_after"])
    return response

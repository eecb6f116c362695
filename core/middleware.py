from django.contrib.messages.middleware import MessageMiddleware
from django.http import QueryDict

from core.errors import DomainError
from core.views import domain_error_page

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# JSON APIs: no flash messages to load or save.
API_PREFIXES = ("/api/", "/v1/")


def is_api_request(request) -> bool:
    return request.path_info.startswith(API_PREFIXES)


class PageMessagesMiddleware(MessageMiddleware):
    """Django's messages, for pages only: API requests skip setting up their storage."""

    def process_request(self, request):
        if not is_api_request(request):
            super().process_request(request)


def _has_nul(params: QueryDict) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in params.lists()
    )


class NulCharacterGuardMiddleware:
    """Refuses query strings and page forms that contain NUL characters.

    Nobody types one, PostgreSQL cannot store one in text, and a lookup with one fails in the
    database driver; refusing them here covers every view, present and future. API bodies
    get the same rule from their parser and serializer fields.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        params = [request.GET]
        if (
            request.method == "POST"
            and request.content_type in FORM_TYPES
            and not request.path.startswith("/api/")
        ):
            params.append(request.POST)
        if any(_has_nul(values) for values in params):
            return domain_error_page(
                request,
                DomainError(
                    "Parameters must not contain NUL (\\0) characters.", code="nul_character"
                ),
            )
        return self.get_response(request)

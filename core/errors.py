"""The one exception type services raise for anything a person can fix or should know."""

from typing import Any


class DomainError(Exception):
    """A refused request: `message` says what was wrong, `code` is stable for API clients.

    Turned into a JSON error by the API exception handler and into a form message by pages.
    """

    def __init__(self, message: str, *, code: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.extra = extra


def suspicious_request_error(exc: Exception) -> DomainError:
    """What to tell a client whose request Django refused before any view ran (too many
    files or fields, a body over the limit, a malformed multipart body)."""
    from django.conf import settings
    from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent

    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return DomainError(f"At most {limit} files can be sent at once.", code="too_many_files")
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return DomainError(f"At most {limit} fields can be sent at once.", code="too_many_fields")
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return DomainError(
            f"The request body is larger than {limit // 1024} KB.",
            code="body_too_large",
            status=413,
        )
    return DomainError(
        "The request could not be read; check its format and headers.", code="bad_request"
    )

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

"""The one path every JSON body takes: size, syntax, nesting depth and text are checked here."""

import orjson
from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from core.errors import DomainError

# Deeper than any body this API takes (an annotation is five levels); a bound keeps recursive
# validation and re-serialisation far from Python's recursion limit.
MAX_JSON_DEPTH = 32


def json_body_problem(value) -> str | None:
    """Why a parsed body is refused (too deep, NUL characters in text), or None."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            if isinstance(item, str) and "\x00" in item:
                return "Text in the body must not contain NUL (\\u0000) characters."
            continue
        if depth > MAX_JSON_DEPTH:
            return f"The body is nested deeper than {MAX_JSON_DEPTH} levels."
        pending.extend((child, depth + 1) for child in children)
    return None


class CheckedJSONParser(BaseParser):
    """JSON bodies through orjson (strict: no NaN or Infinity), bounded in size and depth."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise DomainError(
                f"The request body is larger than {limit // 1024} KB.",
                code="body_too_large",
                status=413,
            )
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from None
        problem = json_body_problem(value)
        if problem is not None:
            raise ParseError(problem)
        return value

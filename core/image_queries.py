"""The query language, offered to the pages of apps that may not import it.

datasets/ (high up) registers its compiler in its AppConfig.ready(); the gallery (donations),
the grid validation page and the annotation browse mode call `image_query` with the text from
the URL, and get a filter on Image rows.
"""

from collections.abc import Callable

from django.db.models import Q

from core.errors import DomainError

ImageQueryCompiler = Callable[..., Q]
_compiler: list[ImageQueryCompiler] = []


def image_query_register(compiler: ImageQueryCompiler) -> None:
    """`compiler(text, include_open=...)` -> Q on Image; raises DomainError on a bad query."""
    _compiler[:] = [compiler]


def image_query(text: str, *, include_open: bool) -> Q:
    """Images the query matches. `include_open`: labels still being validated count too (a
    gallery search finds what people labelled; exports count only decided labels)."""
    if not _compiler:
        raise DomainError("Searching is not available.", code="query_unavailable", status=503)
    return _compiler[0](text, include_open=include_open)

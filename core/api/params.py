"""Query parameters several API apps take, parsed and documented once."""

from drf_spectacular.utils import OpenApiParameter

from core.params import id_list, id_list_pattern

MAX_EXCLUDE = 5


def exclude_parameter(what: str) -> OpenApiParameter:
    return OpenApiParameter(
        "exclude",
        str,
        description=f"Comma-separated {what} ids to leave out (to preload the next task), at "
        f"most {MAX_EXCLUDE}",
        pattern=id_list_pattern(MAX_EXCLUDE),
    )


def exclude_from_query(request) -> tuple[int, ...]:
    return id_list(request.query_params.get("exclude"), name="exclude", limit=MAX_EXCLUDE)

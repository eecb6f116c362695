from django.core.exceptions import ValidationError
from django.db import models
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination

from core.errors import DomainError
from core.params import MAX_ID, aware_datetime_or_none, id_or_none


def _invalid_cursor() -> DomainError:
    return DomainError(
        "The cursor is not one this API handed out; follow the next/previous links, or start "
        "again without a cursor.",
        code="invalid_cursor",
    )


class CheckedCursorPagination(CursorPagination):
    """Stable, index-friendly pages for large lists: no COUNT(*), no OFFSET scans.

    A cursor is base64 text a client can rewrite, so its position is checked against the
    ordering field's type before it reaches a query: anything the server did not write is a
    400, not a database error.
    """

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if not raw:
            return self.page_size
        number = id_or_none(raw)
        if number is None or number > self.max_page_size:
            raise DomainError(
                f"page_size must be a whole number from 1 to {self.max_page_size}.",
                code="invalid_page_size",
            )
        return number

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise _invalid_cursor() from None
        if cursor is None or cursor.position is None:
            return cursor
        field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        return Cursor(
            offset=cursor.offset,
            reverse=cursor.reverse,
            position=self._checked_position(field, cursor.position),
        )

    @staticmethod
    def _checked_position(field: models.Field, position: str) -> str:
        if "\x00" in position or len(position) > 100:
            raise _invalid_cursor()
        if isinstance(field, models.DateTimeField):
            moment = aware_datetime_or_none(position)
            if moment is None:
                raise _invalid_cursor()
            return moment.isoformat()
        if isinstance(field, models.IntegerField):  # AutoField and BigAutoField included
            if not position.isascii() or not position.isdigit() or int(position) > MAX_ID:
                raise _invalid_cursor()
            return position
        try:
            return str(field.to_python(position))
        except ValidationError:
            raise _invalid_cursor() from None


class NewestFirstCursorPagination(CheckedCursorPagination):
    ordering = ("-created_at", "-id")

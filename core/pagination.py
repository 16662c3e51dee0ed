"""The cursor pagination of every list endpoint (settings' DEFAULT_PAGINATION_CLASS)."""

from datetime import UTC, datetime

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from core.fields import column_range


class CursorPage(CursorPagination):
    """The contract's list shape, ``{"next", "previous", "results"}``.

    Cursor pages cost one indexed query whatever the page number, and never COUNT(*).
    Views set ``ordering`` to a unique, indexed column order (newest first by id).

    A cursor is the client's to send back, so it is checked like any input: a position
    that its column cannot hold (not a number, out of range, a NUL byte) is the same 404
    "Invalid cursor" as one that does not decode, never a database error.
    """

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            self._check_position(cursor.position)
        return cursor

    def _check_position(self, position: str) -> None:
        ordering = self.ordering if isinstance(self.ordering, (list, tuple)) else [self.ordering]
        name = ordering[0].lstrip("-")
        try:
            field = self._model._meta.get_field(name)
        except (AttributeError, FieldDoesNotExist):
            field = None
        try:
            if not position.isprintable():
                raise ValidationError("not printable")
            if field is not None:
                value = field.to_python(position)
                if isinstance(field, (models.IntegerField, models.AutoField, models.ForeignKey)):
                    low, high = column_range(field)
                    if not low <= value <= high:
                        raise ValidationError("out of range")
                if isinstance(value, datetime):
                    value.astimezone(UTC)  # a time at the calendar's edge overflows here
        except (ValidationError, TypeError, ValueError, OverflowError):
            raise NotFound(self.invalid_cursor_message) from None

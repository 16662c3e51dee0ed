"""The cursor pagination of every list endpoint (settings' DEFAULT_PAGINATION_CLASS)."""

from base64 import b64encode
from datetime import UTC, datetime
from urllib import parse

from django.core import signing
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.utils.urls import replace_query_param

from core.fields import column_range

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


def _invalid(attr: str, code: str, detail: str) -> ValidationError:
    return ValidationError({attr: [ErrorDetail(detail, code=code)]})


class CursorPage(CursorPagination):
    """The contract's list shape, ``{"next", "previous", "results"}``.

    Cursor pages cost one indexed query whatever the page number, and never COUNT(*).
    Views set ``ordering`` to a unique, indexed column order (newest first by id).

    Cursors are signed: the position inside one is compared with an indexed column, so
    a cursor the server did not make (or a `page_size` outside 1..200) is a 400 on that
    parameter, never a query on a value of the wrong type. A signed cursor of another
    list (another ordering) is checked against this list's column: a position that the
    column cannot hold (not a number, out of range, a NUL byte) is the same 400, never
    a database error.
    """

    ordering = "-id"
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    signing_salt = "fanbase.cursor"

    @property
    def signer(self) -> signing.Signer:
        # Made on use: tooling that builds the schema runs without a SECRET_KEY.
        return signing.Signer(salt=self.signing_salt)

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else 0
        if not 1 <= size <= self.max_page_size:
            raise _invalid(
                "page_size", "invalid_page_size", f"A whole number from 1 to {self.max_page_size}."
            )
        return size

    def encode_cursor(self, cursor: Cursor) -> str:
        tokens = {}
        if cursor.offset != 0:
            tokens["o"] = str(cursor.offset)
        if cursor.reverse:
            tokens["r"] = "1"
        if cursor.position is not None:
            tokens["p"] = cursor.position
        querystring = parse.urlencode(tokens, doseq=True)
        encoded = self.signer.sign(b64encode(querystring.encode("ascii")).decode("ascii"))
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def decode_cursor(self, request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            unsigned = self.signer.unsign(encoded)
        except signing.BadSignature:
            raise _invalid(
                "cursor", "invalid_cursor", "This cursor was not made by this server: follow `next`."
            ) from None
        # Signed by this server, so it decodes: the parent reads the tokens.
        cursor = super().decode_cursor(_QueryOverride(request, {self.cursor_query_param: unsigned}))
        if cursor is not None and cursor.position is not None:
            self._check_position(cursor.position)
        return cursor

    def _check_position(self, position: str) -> None:
        ordering = self.ordering if isinstance(self.ordering, list | tuple) else [self.ordering]
        name = ordering[0].lstrip("-")
        try:
            field = self._model._meta.get_field(name)
        except (AttributeError, FieldDoesNotExist):
            field = None
        try:
            if not position.isprintable():
                raise DjangoValidationError("not printable")
            if field is not None:
                value = field.to_python(position)
                if isinstance(field, models.IntegerField | models.AutoField | models.ForeignKey):
                    low, high = column_range(field)
                    if not low <= value <= high:
                        raise DjangoValidationError("out of range")
                if isinstance(value, datetime):
                    value.astimezone(UTC)  # a time at the calendar's edge overflows here
        except (DjangoValidationError, TypeError, ValueError, OverflowError):
            raise _invalid("cursor", "invalid_cursor", "This cursor is not one of this list's.") from None

    def get_paginated_response_schema(self, schema: dict) -> dict:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {**link, "description": "The next page, or null on the last one."},
                "previous": {**link, "description": "The previous page, or null on the first one."},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "An opaque position from a page's `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page, {DEFAULT_PAGE_SIZE} unless given.",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


class _QueryOverride:
    """A request whose query parameters are replaced (the parent reads only those)."""

    def __init__(self, request, params: dict):
        self.query_params = params

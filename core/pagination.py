"""The cursor pagination of every list endpoint (settings' DEFAULT_PAGINATION_CLASS)."""

from base64 import b64encode
from datetime import UTC, datetime
from urllib import parse

from django.core import signing
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, models
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from core.fields import column_range
from core.sql import row_reader

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


class Keyset:
    """One page of a list read by written-out SQL, in the contract's ``{next, previous,
    results}`` shape, with the parameters and the 400s of :class:`CursorPage`.

    The ORM's compile of a page query costs more CPU than PostgreSQL's answer to it on the
    hot lists (docs/performance.md), so those lists write their statement out and page it
    here: ``condition`` and ``order`` are the statement's keyset clauses, ``limit`` its
    LIMIT, ``page`` cuts the rows and makes the links. The position is the whole key (every
    column of the ordering, the last one unique), compared as a row value, so a page needs
    no offset whatever the ties of the first column: ``(a, b) < (%s, %s)`` is an index
    condition on an index over ``(a, b)`` on PostgreSQL, and SQLite reads row values too.

    Cursors are signed JSON of the position; one this server did not make, or whose
    values the key's columns cannot hold, is a 400 ``invalid_cursor``, as on ``CursorPage``.
    """

    signing_salt = "fanbase.keyset"

    @classmethod
    def signer(cls) -> signing.Signer:
        # Made on use, as CursorPage's; no timestamp: a position does not expire.
        return signing.Signer(salt=cls.signing_salt)

    def __init__(self, *, descending: bool, size: int, position, reverse: bool, base_url: str):
        self.descending, self.size = descending, size
        self.position, self.reverse, self.base_url = position, reverse, base_url

    @classmethod
    def from_request(cls, request, *, fields, descending: bool = True) -> "Keyset":
        """The page ``request`` asks for (``?cursor=``, ``?page_size=``) of a list ordered by
        ``fields`` (model fields of NOT NULL columns, together unique), newest first when
        ``descending``."""
        size = CursorPage().get_page_size(request)
        position, reverse = None, False
        encoded = request.query_params.get(CursorPage.cursor_query_param)
        if encoded is not None:
            position, reverse = cls._decode(encoded, fields)
        return cls(
            descending=descending,
            size=size,
            position=position,
            reverse=reverse,
            base_url=request.build_absolute_uri(),
        )

    @property
    def limit(self) -> int:
        return self.size + 1

    def condition(self, columns: list[str]) -> tuple[str, list]:
        """The WHERE clause that starts the page after (or, reading back, before) the
        cursor's position; ``1 = 1`` on a first page. ``columns`` name the key's fields in
        the statement, in order."""
        if self.position is None:
            return "1 = 1", []
        before = self.descending != self.reverse
        marks = ", ".join(["%s"] * len(columns))
        return f"({', '.join(columns)}) {'<' if before else '>'} ({marks})", self._params()

    def order(self, columns: list[str]) -> str:
        """The ORDER BY of the rows as read: the list's order, or its reverse for a page
        read back from a ``previous`` link."""
        direction = "DESC" if self.descending != self.reverse else "ASC"
        return ", ".join(f"{column} {direction}" for column in columns)

    def read(self, head: str, params: list, *, key: list[str], fields) -> list[list]:
        """The rows of this page of ``head``: a SELECT up to its WHERE's filters (``params``
        their parameters), to which the keyset's condition, ORDER BY and LIMIT are added on
        the ``key`` columns. Each row's values as ``core.sql.row_reader(fields)`` converts them."""
        condition, key_params = self.condition(key)
        sql = f"{head} AND {condition} ORDER BY {self.order(key)} LIMIT {int(self.limit)}"
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *key_params])
            rows = cursor.fetchall()
        convert = row_reader(fields)
        return [convert(row) for row in rows]

    def response(self, rows: list, *, key, answer) -> Response:
        """The contract's page of ``rows`` (as :meth:`read` gave them, as objects): its
        links and ``answer(row)`` for each of its rows, in the list's order."""
        page, links = self.page(rows, key=key)
        return Response({**links, "results": [answer(row) for row in page]})

    def page(self, rows: list, *, key) -> tuple[list, dict]:
        """The page's rows in the list's order and its ``next`` and ``previous`` links;
        ``rows`` as the statement gave them (up to ``limit``), ``key(row)`` the row's position."""
        more = len(rows) > self.size
        page = list(rows[: self.size])
        if self.reverse:
            page.reverse()
            has_next, has_previous = True, more
        else:
            has_next, has_previous = more, self.position is not None
        links = {"next": None, "previous": None}
        if page and has_next:
            links["next"] = self._link(key(page[-1]), reverse=False)
        if page and has_previous:
            links["previous"] = self._link(key(page[0]), reverse=True)
        elif not page and self.position is not None:
            # Past either end (rows removed meanwhile): the way back from the same position.
            back = "next" if self.reverse else "previous"
            links[back] = self._link(self.position, reverse=not self.reverse)
        return page, links

    def _link(self, position, *, reverse: bool) -> str:
        values = [value.isoformat() if isinstance(value, datetime) else value for value in position]
        encoded = self.signer().sign_object([values, 1 if reverse else 0])
        return replace_query_param(self.base_url, CursorPage.cursor_query_param, encoded)

    def _params(self) -> list:
        adapt = connection.ops.adapt_datetimefield_value
        return [adapt(value) if isinstance(value, datetime) else value for value in self.position]

    @classmethod
    def _decode(cls, encoded: str, fields) -> tuple[tuple, bool]:
        try:
            values, reverse = cls.signer().unsign_object(encoded)
        except signing.BadSignature:
            raise _invalid(
                "cursor", "invalid_cursor", "This cursor was not made by this server: follow `next`."
            ) from None
        except (ValueError, TypeError):
            values, reverse = None, None
        if not isinstance(values, list) or len(values) != len(fields) or reverse not in (0, 1):
            raise _invalid("cursor", "invalid_cursor", "This cursor is not one of this list's.")
        position = tuple(_position_value(f, value) for f, value in zip(fields, values, strict=True))
        return position, bool(reverse)


def _position_value(field: models.Field, value):
    """``value`` as ``field`` holds it, or the 400 of a cursor that is not this list's."""
    try:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise DjangoValidationError("not a key value")
        if isinstance(value, str) and not value.isprintable():
            raise DjangoValidationError("not printable")
        if isinstance(field, models.DateTimeField):
            if not isinstance(value, str):
                raise DjangoValidationError("not a moment")
            parsed = field.to_python(value)
            if parsed is None or parsed.tzinfo is None:
                raise DjangoValidationError("not an aware moment")
            parsed.astimezone(UTC)  # a time at the calendar's edge overflows here
            return parsed
        if isinstance(field, models.IntegerField | models.AutoField | models.ForeignKey):
            if not isinstance(value, int):
                raise DjangoValidationError("not a number")
            low, high = column_range(field)
            if not low <= value <= high:
                raise DjangoValidationError("out of range")
            return value
        if not isinstance(value, str):
            raise DjangoValidationError("not a text")
        if field.max_length is not None and len(value) > field.max_length:
            raise DjangoValidationError("too long")
        return value
    except (DjangoValidationError, TypeError, ValueError, OverflowError):
        raise _invalid("cursor", "invalid_cursor", "This cursor is not one of this list's.") from None

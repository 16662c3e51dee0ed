"""The cursor pagination of every list endpoint (settings' DEFAULT_PAGINATION_CLASS)."""

from rest_framework.pagination import CursorPagination


class CursorPage(CursorPagination):
    """The contract's list shape, ``{"next", "previous", "results"}``.

    Cursor pages cost one indexed query whatever the page number, and never COUNT(*).
    Views set ``ordering`` to a unique, indexed column order (newest first by id).
    """

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

"""API helpers every app's ``apis.py`` uses: the public base view, cursor pages, input checks,
and the text of money and moments for answers built without serializers.

The two authenticated base views (``MerchantApi``, ``ShopperApi``) belong to members,
which owns the callers: ``members.authentication``.
"""

import decimal
import functools
from datetime import datetime, tzinfo

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_input import check_json_types
from core.db import is_conflict, retry_on_conflict
from core.pagination import CursorPage


class RetryingApiView(APIView):
    """The base of every API view: a request whose transaction lost a race (a
    serialization failure or a deadlock) is handled again from the start, up to
    ``core.db.CONFLICT_ATTEMPTS`` tries; one that loses every time, or finds the
    database down, is a 503 in the error shape (``core.errors``)."""

    def handle_exception(self, exc):
        if is_conflict(exc):
            handler = getattr(self, self.request.method.lower(), self.http_method_not_allowed)
            try:
                return retry_on_conflict(
                    lambda: handler(self.request, *self.args, **self.kwargs), first_error=exc
                )
            except Exception as again:
                exc = again
        return super().handle_exception(exc)


class PublicApi(RetryingApiView):
    authentication_classes: list = []
    permission_classes: list = []


def paginated_response(
    view: APIView, request: Request, queryset, serializer_class, *, ordering="-id", complete=None
) -> Response:
    """One cursor page of ``queryset`` in the contract's ``{next, previous, results}`` shape.

    ``ordering`` must be unique (end it with the primary key) so that the cursor is stable.
    ``complete(page)`` may add to the page's rows what is read for the page as a whole
    (one query for all its rows) before they are serialised. The paginator is the view's
    ``pagination_class``, which the schema reads too (lists are declared as their envelope).
    """
    paginator = getattr(view, "pagination_class", None) or CursorPage
    paginator = paginator()
    paginator.ordering = ordering
    page = paginator.paginate_queryset(queryset, request, view=view)
    if complete is not None:
        complete(page)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def validated(serializer_class, request, *, data=None, partial: bool = False) -> dict:
    """The request body (or ``data``: the query string) checked by ``serializer_class``.

    JSON types are checked first, as the schema states them (``core.api_input``); a 400
    in the contract's shape if anything is wrong.
    """
    # A query string as a plain dict: as a QueryDict, DRF would read a missing boolean as
    # an unticked HTML checkbox (false) instead of "not given".
    raw = request.data if data is None else (data.dict() if hasattr(data, "dict") else data)
    serializer = serializer_class(data=raw, partial=partial)
    serializer.fields = bound_fields(serializer_class, partial)
    check_json_types(serializer, raw, query=data is not None)  # raises on any fault
    return serializer.validated_data


@functools.cache
def bound_fields(serializer_class, partial: bool = False):
    """The input fields of ``serializer_class``, bound once per process and shared by every
    request's serializer.

    DRF deep-copies a serializer's declared fields for each instance; for an order's body
    that copy was almost half of its validation's CPU. Validating through bound fields
    keeps no state on them (the state of a run, ``validated_data`` and ``errors``, is on the
    serializer instance), so one set serves every request, in any thread; a serializer that
    adds fields in ``__init__`` adds them to this set the same way.
    """
    return serializer_class(partial=partial).fields


# An answer read on every page (the feed) is built as plain dicts: the serializers stay
# for the schema, and a test holds the two to the same output. These give the text
# DRF's fields give (``COERCE_DECIMAL_TO_STRING``, ISO 8601 in the current time zone)
# without their per-value lookups, which cost more than the formatting.
_CENT = decimal.Decimal("0.01")
_MONEY_CONTEXT = decimal.Context(prec=12)  # DecimalField(max_digits=12, decimal_places=2)


def money_text(value: decimal.Decimal | None) -> str | None:
    """``DecimalField(max_digits=12, decimal_places=2)``'s text of an amount; None stays None."""
    if value is None:
        return None
    if not isinstance(value, decimal.Decimal):
        value = decimal.Decimal(str(value).strip())
    return f"{value.quantize(_CENT, context=_MONEY_CONTEXT):f}"


def moment_text(value: datetime | None, tz: tzinfo) -> str | None:
    """``DateTimeField``'s text of an aware datetime in ``tz`` (the request's
    ``timezone.get_current_timezone()``, read once); None stays None."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text

"""API helpers every app's ``apis.py`` uses: the public base view, cursor pages, input checks.

The two authenticated base views (``MerchantApi``, ``ShopperApi``) belong to members,
which owns the callers: ``members.authentication``.
"""

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import CursorPage


class PublicApi(APIView):
    authentication_classes: list = []
    permission_classes: list = []


def paginated_response(
    view: APIView, request: Request, queryset, serializer_class, *, ordering="-id", complete=None
) -> Response:
    """One cursor page of ``queryset`` in the contract's ``{next, previous, results}`` shape.

    ``complete(page)`` may add to the page's rows what is read for the page as a whole
    (one query for all its rows) before they are serialised.
    """
    paginator = CursorPage()
    paginator.ordering = ordering
    page = paginator.paginate_queryset(queryset, request, view=view)
    if complete is not None:
        complete(page)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def validated(serializer_class, request, *, data=None) -> dict:
    """The request body checked by ``serializer_class``; a 400 in the contract's shape if not."""
    serializer = serializer_class(data=request.data if data is None else data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data

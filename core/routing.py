"""URL helpers: the contract's paths answer with and without a trailing slash.

Path parameters use the ``key`` converter: any text but "/" and control characters.
A NUL byte (``/orders/%00/refunds``) matches no route, so it is a 404 before any
database sees it (PostgreSQL refuses NUL in text). Anything under ``/api/`` that no
route matches answers 404 in the API's error shape (``api_not_found``), not as HTML.
"""

from django.http import JsonResponse
from django.urls import path, register_converter
from django.views.decorators.csrf import csrf_exempt


class KeyConverter:
    regex = r"[^/\x00-\x1f\x7f]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(KeyConverter, "key")


def slash_optional(route: str, view, name: str) -> list:
    """Two patterns for one operation; the schema keeps only the slash-less one."""
    route = route.rstrip("/")
    return [path(route, view, name=name), path(f"{route}/", view)]


def drop_trailing_slash_twins(endpoints):
    """drf-spectacular preprocessing hook: hide the slash twins from the schema."""
    return [(p, pr, m, cb) for (p, pr, m, cb) in endpoints if p == "/" or not p.endswith("/")]


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Every path under /api/ that no route matches, for every method."""
    return JsonResponse(
        {"type": "client_error", "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}]},
        status=404,
    )

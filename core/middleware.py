"""A database that cannot serve, outside the API views: 503, never a 500.

The API's views answer it themselves (``core.errors``); this catches what reaches
Django from elsewhere (the admin, the session or the user loaded by middleware) and
answers 503 ``service_unavailable`` in the API's error shape, with ``Retry-After``.
"""

import logging

from django.http import JsonResponse

from core.db import database_unavailable
from core.errors import ServiceUnavailable

logger = logging.getLogger(__name__)


def service_unavailable_response() -> JsonResponse:
    body = {
        "type": "server_error",
        "errors": [
            {
                "code": ServiceUnavailable.default_code,
                "detail": ServiceUnavailable.default_detail,
                "attr": None,
            }
        ],
    }
    response = JsonResponse(body, status=503)
    response["Retry-After"] = str(ServiceUnavailable.retry_after)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        except Exception as exc:  # raised by a middleware below this one
            if database_unavailable(exc):
                logger.warning("database unavailable: %s: %s", type(exc).__name__, exc)
                return service_unavailable_response()
            raise

    def process_exception(self, request, exc):  # raised by a view
        if database_unavailable(exc):
            logger.warning("database unavailable: %s: %s", type(exc).__name__, exc)
            return service_unavailable_response()
        return None

"""Domain errors with stable codes, and the one exception handler for the whole API.

Every app's ``errors.py`` subclasses :class:`DomainError` (or :class:`NotFound`,
:class:`Conflict`). Services raise them; :func:`exception_handler` (settings'
``REST_FRAMEWORK["EXCEPTION_HANDLER"]``) turns them into the contract's error shape with
the class's HTTP status. Codes are part of the API: never rename one.

The shape is drf-standardized-errors':
``{"type": "validation_error"|"client_error", "errors": [{"code", "detail", "attr"}]}``.
A domain error that names a field (``attr``) and is a plain 400 is reported as a
validation error on that field. So is a not-found whose ``attr`` is a field of the
request's body or query string: an unknown id given in the input is a fault of that
field (400), while an unknown id in the path stays a 404. The rest keep their HTTP
status and stable code.

Also answered in that shape rather than as a 500: a body over Django's upload limit
(413 ``request_too_large``), and a database that cannot serve now (down, restarting, a
conflict retried out: ``core.db.database_unavailable``) as 503 ``service_unavailable``
with ``Retry-After`` (a ``server_error``; ``core.middleware`` does the same outside the
API). An answer lists at most ``MAX_REPORTED_ERRORS`` errors and
then says how many more there were, so a hostile body cannot make a huge answer.
"""

import logging
from dataclasses import dataclass

from django.core.exceptions import RequestDataTooBig
from drf_standardized_errors.handler import exception_handler as standardized_handler
from rest_framework import exceptions
from rest_framework.exceptions import ErrorDetail

from core.db import database_unavailable

logger = logging.getLogger(__name__)


class DomainError(Exception):
    code = "domain_error"
    status_code = 400
    default_detail = "The request cannot be carried out."

    def __init__(self, detail: str | None = None, *, attr: str | None = None):
        self.detail = detail or self.default_detail
        self.attr = attr
        super().__init__(self.detail)

    @classmethod
    def on(cls, field: str) -> "ErrorAt":
        """For the schema (``core.schema.api_operation``): this error, as a 400 on the input ``field``."""
        return ErrorAt(cls, field)


@dataclass(frozen=True)
class ErrorAt:
    """A domain error reported on an input field: a 400 validation error whose ``attr`` is ``field``."""

    error: type[DomainError]
    field: str


class NotFound(DomainError):
    code = "not_found"
    status_code = 404
    default_detail = "Not found."


class Conflict(DomainError):
    code = "conflict"
    status_code = 409
    default_detail = "The request conflicts with existing data."


class InvariantViolated(RuntimeError):
    """A rule the code and the database guarantee did not hold: a bug or a corrupt row.

    Never a caller's fault, so not a :class:`DomainError`: it rolls the transaction
    back and reaches the logs as a server error. Raised where ``assert`` would be
    (which ``python -O`` removes).
    """


MAX_REPORTED_ERRORS = 50


class DomainAPIException(exceptions.APIException):
    def __init__(self, error: DomainError):
        self.status_code = error.status_code
        super().__init__(detail=error.detail, code=error.code)


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "request_too_large"
    default_detail = "The request body is larger than this API accepts."


class ServiceUnavailable(exceptions.APIException):
    status_code = 503
    default_code = "service_unavailable"
    default_detail = "The service is briefly unavailable; retry shortly."
    retry_after = 5  # seconds, in the Retry-After header


def _input_names(request) -> set[str]:
    if request is None:
        return set()
    names = set(request.query_params)
    data = getattr(request, "_full_data", None)  # parsed already, or the view never read it
    if isinstance(data, dict):
        names.update(data)
    return names


def as_api_exception(exc: Exception, request=None) -> Exception:
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if database_unavailable(exc):
        logger.warning("database unavailable: %s: %s", type(exc).__name__, exc)
        return ServiceUnavailable()
    if not isinstance(exc, DomainError):
        return exc
    field_fault = exc.status_code == 400 or (isinstance(exc, NotFound) and exc.attr in _input_names(request))
    if exc.attr and field_fault:
        return exceptions.ValidationError({exc.attr: [ErrorDetail(exc.detail, code=exc.code)]}, code=exc.code)
    return DomainAPIException(exc)


def exception_handler(exc, context):
    exc = as_api_exception(exc, context.get("request"))
    response = standardized_handler(exc, context)
    if response is not None:
        _cap_errors(response)
        if isinstance(exc, ServiceUnavailable):
            response["Retry-After"] = str(ServiceUnavailable.retry_after)
    return response


def _cap_errors(response) -> None:
    errors = response.data.get("errors") if isinstance(response.data, dict) else None
    if not errors or len(errors) <= MAX_REPORTED_ERRORS:
        return
    more = len(errors) - MAX_REPORTED_ERRORS
    response.data["errors"] = [
        *errors[:MAX_REPORTED_ERRORS],
        {"code": "too_many_errors", "detail": f"And {more} more errors not listed.", "attr": None},
    ]

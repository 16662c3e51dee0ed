"""One exception handler for the whole API: domain errors and DRF's own, one shape.

The shape is drf-standardized-errors':
``{"type": "validation_error"|"client_error", "errors": [{"code", "detail", "attr"}]}``.
A domain error that names a field (``attr``) and is a plain 400 is reported as a
validation error on that field; the rest keep their HTTP status and stable code.

Also answered in that shape rather than as a 500: a body over Django's upload limit
(413 ``request_too_large``). An answer lists at most ``MAX_REPORTED_ERRORS`` errors and
then says how many more there were, so a hostile body cannot make a huge answer.
"""

from django.core.exceptions import RequestDataTooBig
from drf_standardized_errors.handler import exception_handler as standardized_handler
from rest_framework import exceptions
from rest_framework.exceptions import ErrorDetail

from members.errors import DomainError

MAX_REPORTED_ERRORS = 50


class DomainAPIException(exceptions.APIException):
    def __init__(self, error: DomainError):
        self.status_code = error.status_code
        super().__init__(detail=error.detail, code=error.code)


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "request_too_large"
    default_detail = "The request body is larger than this API accepts."


def as_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if not isinstance(exc, DomainError):
        return exc
    if exc.status_code == 400 and exc.attr:
        return exceptions.ValidationError({exc.attr: [ErrorDetail(exc.detail, code=exc.code)]}, code=exc.code)
    return DomainAPIException(exc)


def exception_handler(exc, context):
    response = standardized_handler(as_api_exception(exc), context)
    if response is not None:
        _cap_errors(response)
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

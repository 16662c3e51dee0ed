"""One exception handler for the whole API: domain errors and DRF's own, one shape.

The shape is drf-standardized-errors':
``{"type": "validation_error"|"client_error", "errors": [{"code", "detail", "attr"}]}``.
A domain error that names a field (``attr``) and is a plain 400 is reported as a
validation error on that field; the rest keep their HTTP status and stable code.
"""

from drf_standardized_errors.handler import exception_handler as standardized_handler
from rest_framework import exceptions
from rest_framework.exceptions import ErrorDetail

from members.errors import DomainError


class DomainAPIException(exceptions.APIException):
    def __init__(self, error: DomainError):
        self.status_code = error.status_code
        super().__init__(detail=error.detail, code=error.code)


def as_api_exception(exc: Exception) -> Exception:
    if not isinstance(exc, DomainError):
        return exc
    if exc.status_code == 400 and exc.attr:
        return exceptions.ValidationError({exc.attr: [ErrorDetail(exc.detail, code=exc.code)]}, code=exc.code)
    return DomainAPIException(exc)


def exception_handler(exc, context):
    return standardized_handler(as_api_exception(exc), context)

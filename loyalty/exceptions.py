"""One exception handler for the whole API: domain errors and DRF's own, one shape.

The shape is drf-standardized-errors':
``{"type": "validation_error"|"client_error", "errors": [{"code", "detail", "attr"}]}``.
A domain error that names a field (``attr``) and is a plain 400 is reported as a
validation error on that field. So is a not-found whose ``attr`` is a field of the
request's body or query string: an unknown id given in the input is a fault of that
field (400), while an unknown id in the path stays a 404. The rest keep their HTTP
status and stable code.
"""

from drf_standardized_errors.handler import exception_handler as standardized_handler
from rest_framework import exceptions
from rest_framework.exceptions import ErrorDetail

from members.errors import DomainError, NotFound


class DomainAPIException(exceptions.APIException):
    def __init__(self, error: DomainError):
        self.status_code = error.status_code
        super().__init__(detail=error.detail, code=error.code)


def _input_names(request) -> set[str]:
    if request is None:
        return set()
    names = set(request.query_params)
    data = getattr(request, "_full_data", None)  # parsed already, or the view never read it
    if isinstance(data, dict):
        names.update(data)
    return names


def as_api_exception(exc: Exception, request=None) -> Exception:
    if not isinstance(exc, DomainError):
        return exc
    field_fault = exc.status_code == 400 or (isinstance(exc, NotFound) and exc.attr in _input_names(request))
    if exc.attr and field_fault:
        return exceptions.ValidationError({exc.attr: [ErrorDetail(exc.detail, code=exc.code)]}, code=exc.code)
    return DomainAPIException(exc)


def exception_handler(exc, context):
    return standardized_handler(as_api_exception(exc, context.get("request")), context)

"""The OpenAPI schema class of the API (settings' DEFAULT_SCHEMA_CLASS), made to tell the truth.

- Every operation declares the error answers it can give, in the contract's shape,
  with the stable codes it can return: those of its input's fields (read from the
  same serializers that check the input), of pagination, of authentication, and the
  domain errors its view names with :func:`api_operation`.
- Input limits come from the serializers that check them: blank strings, empty lists
  and decimal strings are described as the server takes them (``core.api_input``).
- Descriptions are the ones written for integrators (:func:`api_operation`), never a
  view's docstring.
"""

import re
from collections import defaultdict

from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import extend_schema
from drf_standardized_errors.openapi_utils import (
    get_flat_serializer_fields,
    get_serializer_fields_with_error_codes,
)
from drf_standardized_errors.settings import package_settings
from rest_framework import serializers
from rest_framework.settings import api_settings as drf_settings

from core.api_input import decimal_excludes_zero, decimal_pattern
from core.errors import ErrorAt

AUTH_CODES = ["not_authenticated", "authentication_failed", "wrong_credential_kind"]
PAGINATION_CODES = {"cursor": {"invalid_cursor"}, "page_size": {"invalid_page_size"}}


def api_operation(*, errors=(), filters=None, **kwargs):
    """``extend_schema`` plus the domain errors the operation can answer with.

    ``errors``: DomainError classes (answered with their own status and code) or
    :class:`ErrorAt` (``SomeError.on("field")``: a 400 validation error on that field).
    ``filters``: the serializer that checks the query string; its fields become the
    operation's query parameters, with the same limits.
    """
    if filters is not None:
        kwargs["parameters"] = [filters, *kwargs.get("parameters", [])]

    def decorate(func):
        func = extend_schema(**kwargs)(func)
        func.api_errors = tuple(errors)
        func.filter_serializer = filters
        return func

    return decorate


class AutoSchema(SpectacularAutoSchema):
    def get_serializer_name(self, serializer, direction):
        """Names a view's nested ``InputSerializer`` after its view: ``OrderCreateInput``.

        The style nests an ``InputSerializer`` in every view; without this, they would
        all be one component called ``Input`` in the OpenAPI schema.
        """
        cls = type(serializer)
        outer, _, inner = cls.__qualname__.rpartition(".")
        if outer:
            view = outer.rsplit(".", 1)[-1].removesuffix("Api")
            return f"{view}{inner.removesuffix('Serializer')}"
        return super().get_serializer_name(serializer, direction)

    def get_description(self):
        # Only what ``api_operation`` says; a view's docstring is written for its maintainers.
        return ""

    # --- input limits as the server checks them --------------------------------------

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and not field.read_only:
            _add_input_limits(field, schema)
        return schema

    # --- error answers -----------------------------------------------------------------

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        if direction != "response":
            return responses
        for status, (description, schema) in sorted(self._error_answers().items()):
            responses.setdefault(
                status, {"description": description, "content": {"application/json": {"schema": schema}}}
            )
        return responses

    def _declared_errors(self) -> tuple:
        handler = getattr(self.view, self.method.lower(), None)
        return getattr(handler, "api_errors", ())

    def _has_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None

    def _is_paginated(self) -> bool:
        return self._is_list_view() and self._get_paginator() is not None

    def _error_answers(self) -> dict[str, tuple[str, dict]]:
        field_codes: dict[str, set[str]] = defaultdict(set)
        client_codes: dict[int, set[str]] = defaultdict(set)
        if self._has_body():
            fields = get_flat_serializer_fields(self.get_request_serializer())
            for field in get_serializer_fields_with_error_codes(fields):
                field_codes[field.name].update(field.error_codes)
                # A null where a nested object is wanted (a list's item, or an object
                # inside the body) is reported on that field itself, not on its
                # non_field_errors.
                suffix = f"{package_settings.NESTED_FIELD_SEPARATOR}{drf_settings.NON_FIELD_ERRORS_KEY}"
                if field.name.endswith(suffix):
                    # ... and so is a refusal of the object as a whole from its own check.
                    field_codes[field.name.removesuffix(suffix)].update({"null", "invalid"})
            client_codes[400].add("parse_error")
            client_codes[413].add("request_too_large")
            client_codes[415].add("unsupported_media_type")
        filters = getattr(getattr(self.view, self.method.lower(), None), "filter_serializer", None)
        if filters is not None:
            for field in get_serializer_fields_with_error_codes(get_flat_serializer_fields(filters())):
                field_codes[field.name].update(field.error_codes)
        if self._is_paginated():
            for name, codes in PAGINATION_CODES.items():
                field_codes[name].update(codes)
        for item in self._declared_errors():
            if isinstance(item, ErrorAt):
                field_codes[item.field].add(item.error.code)
            else:
                client_codes[item.status_code].add(item.code)
        if any(parameter["in"] == "path" for parameter in self._get_parameters()):
            # A path segment no route takes (a control character) is the JSON 404 of
            # ``core.routing.api_not_found``.
            client_codes[404].add("not_found")
        if [auth for auth in self.get_auth() if auth]:
            client_codes[401].update(AUTH_CODES)
        if self.view.get_throttles():
            client_codes[429].add("throttled")

        answers: dict[str, tuple[str, dict]] = {}
        variants = []
        if field_codes:
            variants.append(_validation_error_schema(field_codes))
        if client_codes.get(400):
            variants.append(_client_error_schema(client_codes.pop(400)))
        if variants:
            schema = variants[0] if len(variants) == 1 else {"oneOf": variants}
            answers["400"] = ("The input was refused; `errors` says why, field by field.", schema)
        for status, codes in client_codes.items():
            if codes:
                answers[str(status)] = (STATUS_DESCRIPTIONS[status], _client_error_schema(codes))
        # Every operation: the database cannot serve now (core.db, core.errors).
        answers["503"] = (STATUS_DESCRIPTIONS[503], _server_error_schema({"service_unavailable"}))
        return answers


STATUS_DESCRIPTIONS = {
    401: "No credential, a wrong one, or the other kind of credential: the `WWW-Authenticate` header "
    "names the scheme this route takes.",
    403: "The credential may not do this.",
    404: "Nothing of yours under this path.",
    409: "This conflicts with what is already recorded.",
    413: "The request body is too large.",
    415: "The body is not `application/json`.",
    429: "Too many requests; retry after the `Retry-After` header's seconds.",
    503: "The service is briefly unavailable (its database is down or overloaded); nothing was "
    "written. Retry after the `Retry-After` header's seconds (orders and refunds with the same "
    "`external_id`).",
}


def _attr_schema(name: str) -> dict:
    """An error's ``attr``: list positions are numbers in answers (``lines.0.sku``)."""
    index = package_settings.LIST_INDEX_IN_API_SCHEMA
    key = package_settings.DICT_KEY_IN_API_SCHEMA
    separator = package_settings.NESTED_FIELD_SEPARATOR
    parts = name.split(separator)
    if index not in parts and key not in parts:
        return {"type": "string", "enum": [name]}
    pattern = re.escape(separator).join(
        "[0-9]+" if part == index else "[^.]+" if part == key else re.escape(part) for part in parts
    )
    return {"type": "string", "pattern": f"^{pattern}$"}


def _validation_error_schema(field_codes: dict[str, set[str]]) -> dict:
    items = [
        {
            "type": "object",
            "properties": {
                "code": {"type": "string", "enum": sorted(codes)},
                "detail": {"type": "string"},
                "attr": _attr_schema(name),
            },
            "required": ["code", "detail", "attr"],
        }
        for name, codes in sorted(field_codes.items())
        if codes
    ]
    # The last item of a long answer (``core.errors.MAX_REPORTED_ERRORS``).
    items.append(
        {
            "type": "object",
            "properties": {
                "code": {"type": "string", "enum": ["too_many_errors"]},
                "detail": {"type": "string"},
                "attr": {"type": "string", "nullable": True, "enum": [None]},
            },
            "required": ["code", "detail", "attr"],
        }
    )
    return {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["validation_error"]},
            "errors": {"type": "array", "items": {"anyOf": items}, "minItems": 1},
        },
        "required": ["type", "errors"],
    }


def _client_error_schema(codes: set[str]) -> dict:
    return {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["client_error"]},
            "errors": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string", "enum": sorted(codes)},
                        "detail": {"type": "string"},
                        "attr": {"type": "string", "nullable": True},
                    },
                    "required": ["code", "detail", "attr"],
                },
            },
        },
        "required": ["type", "errors"],
    }


def _server_error_schema(codes: set[str]) -> dict:
    schema = _client_error_schema(codes)
    schema["properties"]["type"] = {"type": "string", "enum": ["server_error"]}
    return schema


def _add_input_limits(field: serializers.Field, schema: dict) -> None:
    """What the field refuses, said in the schema: blank text, empty lists, decimal spelling."""
    if isinstance(field, serializers.DecimalField) and schema.get("type") == "string":
        schema["pattern"] = decimal_pattern(field)
        if decimal_excludes_zero(field):
            schema["not"] = {"pattern": r"^0+(\.0+)?$"}
    elif isinstance(field, serializers.CharField) and schema.get("type") == "string":
        regex = next(
            (
                v.regex.pattern
                for v in field.validators
                if isinstance(v, RegexValidator) and not v.inverse_match
            ),
            None,
        )
        if regex is not None and "pattern" not in schema:
            schema["pattern"] = regex.replace(r"\A", "^")
        if not field.allow_blank:
            schema["minLength"] = max(schema.get("minLength", 0), 1)
            if field.trim_whitespace and "pattern" not in schema:
                # Not only spaces (the server trims them away), and no NUL (it refuses those).
                schema["pattern"] = r"^[^\x00]*[^\s\x00][^\x00]*$"
    elif isinstance(field, serializers.ListField | serializers.ListSerializer) and not field.allow_empty:
        schema["minItems"] = max(schema.get("minItems", 0), 1)
    if "pattern" in schema:
        # Python's end of text; the schema's regular expressions are ECMA's.
        schema["pattern"] = schema["pattern"].replace(r"\Z", "$")

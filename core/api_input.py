"""What the API takes as input, in one place for the server's checks and the schema.

DRF's fields are lenient where the contract is not: a CharField takes ``123``, an
IntegerField ``"12"``, a BooleanField ``"yes"``, a DecimalField ``12.5``, ``"1E+2"`` and
``"1_000"``. The API takes JSON as its OpenAPI schema describes it, so a shop system
that passes a client generated from the schema passes the server too, and the other
way round. :func:`check_json_types` runs before a serializer's own checks;
``members.schema.AutoSchema`` writes the same rules into the schema
(:func:`decimal_pattern` is shared by both).
"""

import re
from collections.abc import Mapping
from decimal import Decimal

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

QUERY_INTEGER = re.compile(r"-?[0-9]+")
# The spelling of a decimal string; the field then checks digits, places and bounds with
# its own codes (max_decimal_places, min_value, ...), which together with this spelling
# refuse exactly what decimal_pattern() describes.
DECIMAL_SPELLING = re.compile(r"-?[0-9]+(\.[0-9]+)?")
QUERY_BOOLEANS = {"true": True, "false": False}


def decimal_pattern(field: serializers.DecimalField) -> str:
    """The decimal strings a field takes: plain digits, at most its places, no exponent."""
    whole = max(field.max_digits - field.decimal_places, 1)
    sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
    fraction = rf"(\.[0-9]{{1,{field.decimal_places}}})?" if field.decimal_places else ""
    if field.decimal_places and field.min_value == 0 and field.max_value == 1:
        # A share between 0 and 1 (an open rate): the pattern says the maximum too.
        places = field.decimal_places
        return rf"^0*(0{fraction}|1(\.0{{1,{places}}})?)$"
    return rf"^{sign}0*[0-9]{{1,{whole}}}{fraction}$"


def decimal_excludes_zero(field: serializers.DecimalField) -> bool:
    """A positive minimum no larger than one step: the schema can say "not zero"."""
    step = Decimal(1).scaleb(-field.decimal_places)
    return field.min_value is not None and Decimal(0) < field.min_value <= step


def check_json_types(serializer: serializers.Serializer, data, *, query: bool = False) -> None:
    """Validate ``serializer`` with a 400 also on every field whose JSON type is not the
    schema's; those errors take the place of what the field itself said about it.

    ``query``: the values are query-string text; integers and booleans are then checked
    for their spelling (``12``, ``true``/``false``) instead of their JSON type.
    """
    type_errors = _serializer_errors(serializer, data, query=query)
    if not serializer.is_valid() or type_errors:
        raise ValidationError(_merged(serializer.errors, type_errors))


def _merged(errors, type_errors):
    if isinstance(errors, Mapping) and isinstance(type_errors, Mapping):
        merged = dict(errors)
        for key, value in type_errors.items():
            merged[key] = _merged(errors[key], value) if key in errors else value
        return merged
    return type_errors


def _serializer_errors(serializer: serializers.Serializer, data, *, query: bool) -> dict:
    if not isinstance(data, Mapping):
        return {}  # the serializer itself says "Expected a dictionary"
    errors = {}
    for name, field in serializer.fields.items():
        if field.read_only or name not in data:
            continue
        found = _field_errors(field, data[name], query=query)
        if found:
            errors[name] = found
    return errors


def _field_errors(field: serializers.Field, value, *, query: bool):
    if value is None:
        return None  # the field's own ``allow_null`` decides
    if isinstance(field, serializers.Serializer):
        return _serializer_errors(field, value, query=query) or None
    if isinstance(field, serializers.ListSerializer):
        field = serializers.ListField(child=field.child)
    if isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            return None  # the field says "Expected a list"
        found = {
            i: err for i, item in enumerate(value) if (err := _field_errors(field.child, item, query=query))
        }
        return found or None
    problem = (_query_problem if query else _json_problem)(field, value)
    if not problem:
        return None
    # A code the field can give anyway, so that the schema's list of codes holds.
    code = "invalid_choice" if isinstance(field, serializers.ChoiceField) else "invalid"
    return [ErrorDetail(problem, code=code)]


def _json_problem(field: serializers.Field, value) -> str | None:
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Must be true or false."
    if isinstance(field, serializers.IntegerField):
        return None if isinstance(value, int) and not isinstance(value, bool) else "Must be a whole number."
    if isinstance(field, serializers.DecimalField):
        if isinstance(value, str) and DECIMAL_SPELLING.fullmatch(value):
            return None
        return 'Must be a decimal string such as "12.50": digits and a point, no exponent or separators.'
    if isinstance(field, serializers.FloatField):
        return None if isinstance(value, int | float) and not isinstance(value, bool) else "Must be a number."
    if isinstance(field, serializers.CharField | serializers.ChoiceField | serializers.DateTimeField):
        return None if isinstance(value, str) else "Must be a string."
    return None


def _query_problem(field: serializers.Field, value) -> str | None:
    if isinstance(field, serializers.BooleanField):
        return None if value in QUERY_BOOLEANS else "Must be true or false."
    if isinstance(field, serializers.IntegerField):
        return None if QUERY_INTEGER.fullmatch(value) else "Must be a whole number."
    return None

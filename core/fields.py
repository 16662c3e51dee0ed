"""Input fields bounded by what their column holds, and refusing what no column should.

``model_field(Model, "name")`` is the one place that turns a model field into an API
input field: an integer gets the range of its column (Django's own table of integer
ranges, the same on SQLite and PostgreSQL), a decimal its digits and the largest value
they hold, a text its ``max_length``, each tightened by the model field's
``MinValueValidator``/``MaxValueValidator``. drf-spectacular reads ``min_value``,
``max_value`` and ``max_length`` from the field, so the schema shows the same limits.
A value the column cannot hold is a 400 naming the field, never a database error.

Also here: times that must carry a zone, text without control characters, lists whose
length is checked before their items, and identifiers that a URL can address.
"""

import unicodedata
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils.deconstruct import deconstructible
from rest_framework import serializers
from rest_framework.fields import empty

# What can stand in a path segment: no "/" (no route could reach it), no whitespace at
# either end, no control characters. Everything else can be percent-encoded.
IDENTIFIER_VALIDATOR = RegexValidator(
    r"\A[^/\s\x00-\x1f\x7f](?:[^/\x00-\x1f\x7f]*[^/\s\x00-\x1f\x7f])?\Z",
    "Identifiers may not contain '/' or control characters, nor start or end with a space.",
    code="invalid_identifier",
)
# A shopper's platform id is also their username (``POST /auth/register``): the same rule.
SHOPPER_ID_VALIDATOR = RegexValidator(
    r"^[\w.@+-]+\Z",
    "A shopper id is letters, digits and @ . + - _ only (it is also their username).",
    code="invalid_shopper_id",
)

# Bidirectional overrides and isolates reorder what a reader sees ("Trojan Source").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def has_control_characters(value: str) -> bool:
    return any(char in _BIDI_CONTROLS or unicodedata.category(char) in {"Cc", "Cs"} for char in value)


@deconstructible
class NoControlCharactersValidator:
    message = "Control characters are not allowed."
    code = "control_characters_not_allowed"

    def __call__(self, value):
        if isinstance(value, str) and has_control_characters(value):
            raise serializers.ValidationError(self.message, code=self.code)

    def __eq__(self, other):
        return isinstance(other, NoControlCharactersValidator)


NO_CONTROL_CHARACTERS = NoControlCharactersValidator()


class TextField(serializers.CharField):
    """Text shown to people (names, titles): no control characters, trimmed."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(NO_CONTROL_CHARACTERS)

    def run_validation(self, data=empty):
        # Before the trim: Python's strip() takes the separators U+001C-U+001F too, so a
        # value of them alone would be refused as blank, which the schema's pattern allows.
        # Any other value keeps DRF's order (and its NUL check beside ours).
        if isinstance(data, str) and data and not data.strip() and has_control_characters(data):
            raise serializers.ValidationError(NO_CONTROL_CHARACTERS.message, code=NO_CONTROL_CHARACTERS.code)
        return super().run_validation(data)


class MoneyField(serializers.DecimalField):
    """A decimal whose zero has no sign: ``-0`` is stored and answered as ``0.00``."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return abs(value) if value.is_zero() else value


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with a zone. A time without one (or a bare date) is refused, not taken as UTC."""

    default_error_messages = {"naive": "Give the time with its zone, e.g. 2026-01-01T12:00:00Z."}

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if isinstance(value, str) and not _names_a_zone(value):
            self.fail("naive")
        return parsed


def _names_a_zone(text: str) -> bool:
    from django.utils.dateparse import parse_datetime

    try:
        parsed = parse_datetime(text.strip())
    except ValueError:
        return False
    return parsed is not None and parsed.tzinfo is not None


class BoundedListField(serializers.ListField):
    """A list whose length is checked before its items: 10,000 bad lines are one error, not 10,000."""

    def to_internal_value(self, data):
        if self.max_length is not None and isinstance(data, list) and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


# --- From the model ---------------------------------------------------------------

_INTEGER_RANGES = BaseDatabaseOperations.integer_field_ranges
_ID_TYPES = {
    "AutoField": "IntegerField",
    "BigAutoField": "BigIntegerField",
    "SmallAutoField": "SmallIntegerField",
}


def column_range(field: models.Field) -> tuple:
    """(min, max) a value of ``field`` may take: the column's range, tightened by its validators."""
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    internal = field.get_internal_type()
    if internal in _ID_TYPES:
        low, high = _INTEGER_RANGES[_ID_TYPES[internal]]
        low = 1
    elif internal in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[internal]
    elif internal == "DecimalField":
        high = Decimal(10) ** (field.max_digits - field.decimal_places) - Decimal(10) ** -field.decimal_places
        low = -high
    else:
        raise ImproperlyConfigured(f"{field} is not a number")
    for validator in field.validators:
        if isinstance(validator, MinValueValidator):
            low = max(low, validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            high = min(high, validator.limit_value)
    return low, high


def model_field(model: type[models.Model], name: str, **kwargs) -> serializers.Field:
    """An input field for ``model.name``, bounded by its column.

    ``min_value``/``max_value``/``max_length`` given here may only narrow the column's
    bounds (a business limit); a wider one is a programming error.
    """
    field = model._meta.get_field(name)
    if isinstance(field, (models.IntegerField, models.ForeignKey, models.AutoField, models.DecimalField)):
        low, high = column_range(field)
        kwargs["min_value"] = _narrowed(field, "min_value", kwargs.get("min_value"), low, max)
        kwargs["max_value"] = _narrowed(field, "max_value", kwargs.get("max_value"), high, min)
        if isinstance(field, models.DecimalField):
            return MoneyField(max_digits=field.max_digits, decimal_places=field.decimal_places, **kwargs)
        return serializers.IntegerField(**kwargs)
    if isinstance(field, models.CharField):
        kwargs["max_length"] = _narrowed(field, "max_length", kwargs.get("max_length"), field.max_length, min)
        kwargs.setdefault("allow_blank", field.blank)
        return TextField(**kwargs)
    raise ImproperlyConfigured(f"model_field() does not know {type(field).__name__} ({field})")


def _narrowed(field, what: str, given, column, tighter):
    if given is None or given is empty:
        return column
    if tighter(given, column) != given:
        raise ImproperlyConfigured(f"{what}={given} for {field} is beyond what the column holds ({column})")
    return given

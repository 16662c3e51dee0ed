"""SQL spelled differently by SQLite and PostgreSQL, decided once per statement.

Raw statements that must run on both databases take their function names from here,
so the vendor branch is written once.
"""

import json

from django.db import connection


def greatest() -> str:
    """The larger of two values: PostgreSQL's ``GREATEST``, SQLite's two-argument ``MAX``."""
    return "GREATEST" if connection.vendor == "postgresql" else "MAX"


def least() -> str:
    """The smaller of two values: PostgreSQL's ``LEAST``, SQLite's two-argument ``MIN``."""
    return "LEAST" if connection.vendor == "postgresql" else "MIN"


def comma_joined(column: str) -> str:
    """An aggregate joining ``column``'s values with commas (no order promised)."""
    if connection.vendor == "postgresql":
        return f"STRING_AGG(CAST({column} AS TEXT), ',')"
    return f"GROUP_CONCAT({column}, ',')"


def epoch_seconds(column: str) -> str:
    """Seconds since 1970 of a datetime column (UTC), as a floating-point number.

    SQLite stores datetimes as ISO text, which ``julianday`` reads.
    """
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


def json_array_has(column: str) -> str:
    """True when the JSON array in ``column`` holds the text bound to the one placeholder.

    Bind the value with :func:`json_array_has_param`.
    """
    if connection.vendor == "postgresql":
        return f"({column} @> CAST(%s AS JSONB))"
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = %s)"


def json_array_has_param(value: str) -> str:
    """The parameter of :func:`json_array_has`: a one-element array on PostgreSQL."""
    if connection.vendor == "postgresql":
        return json.dumps([value])
    return value

"""SQL spelled differently by SQLite and PostgreSQL, decided once per statement.

Raw statements that must run on both databases take their function names from here,
so the vendor branch is written once.
"""

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

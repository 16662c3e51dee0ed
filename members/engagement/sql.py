"""The few SQL fragments of the scoring that differ between SQLite and PostgreSQL.

Django registers ``POWER`` on SQLite connections, so the decay itself is the same
SQL on both; what differs is time arithmetic and the two-argument maximum.
"""

from django.db import connection

DAY_SECONDS = 86400.0


def seconds_between(later: str, earlier: str) -> str:
    """``later - earlier`` in seconds, as a float, for two timestamp expressions."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    return f"((julianday({later}) - julianday({earlier})) * {DAY_SECONDS})"


def greatest(a: str, b: str) -> str:
    return f"{'GREATEST' if connection.vendor == 'postgresql' else 'MAX'}({a}, {b})"


def decay(*, later: str, earlier: str, half_life_seconds: str) -> str:
    """The fraction of a score left from ``earlier`` to ``later`` (1 when not later)."""
    seconds = seconds_between(later, earlier)
    return f"POWER(0.5, {greatest(seconds, '0')} / {half_life_seconds})"


def utc_date(column: str) -> str:
    """The UTC calendar day of a timestamp column."""
    if connection.vendor == "postgresql":
        return f"(({column}) AT TIME ZONE 'UTC')::date"
    return f"date({column})"


def timestamp(value) -> object:
    """A datetime as the driver takes it in a raw statement."""
    return connection.ops.adapt_datetimefield_value(value)


def day(value) -> object:
    """A date as the driver takes it in a raw statement."""
    return connection.ops.adapt_datefield_value(value)


def typed(placeholder: str, pg_type: str) -> str:
    """A parameter with a PostgreSQL type (VALUES lists carry no column types)."""
    return f"{placeholder}::{pg_type}" if connection.vendor == "postgresql" else placeholder


def values_rows(rows: list[tuple], pg_types: tuple[str, ...]) -> tuple[str, list]:
    """``(%s, %s), (%s, %s)`` for ``rows`` with the first row typed, and the flat params."""
    if not rows:
        raise ValueError("no rows")
    first = "(" + ", ".join(typed("%s", t) for t in pg_types) + ")"
    other = "(" + ", ".join(["%s"] * len(pg_types)) + ")"
    sql = ", ".join([first, *([other] * (len(rows) - 1))])
    return sql, [value for row in rows for value in row]

"""The SQL fragments of the scoring that differ between SQLite and PostgreSQL (on top of
``core.sql``).

Django registers ``POWER`` on SQLite connections, so the decay itself is the same
SQL on both; what differs is time arithmetic and the two-argument maximum.
"""

import msgspec
from django.db import connection

from core import sql as core_sql

# The scoring's decay is core's, which the preferences' decay shares.
decay = core_sql.decay


def greatest(a: str, b: str) -> str:
    return f"{core_sql.greatest()}({a}, {b})"


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


def rows_source(rows: list[tuple], pg_types: tuple[str, ...]) -> tuple[str, list]:
    """A row source for ``INSERT INTO t (...) <source>`` or ``WITH v (...) AS (<source>)``.

    PostgreSQL gets the rows as one JSON array of arrays, encoded by msgspec (compiled):
    the statement stays short and the same for any number of rows, and the parameter is
    one string. Django binds parameters on the client, so a ``VALUES`` list of 7,000
    placeholders cost psycopg more CPU to split than the database spent inserting, and
    one array parameter a column still cost it about 10 ms a batch of 1000 to quote
    element by element in Python. SQLite has neither: ``VALUES``.
    """
    if not rows:
        raise ValueError("no rows")
    if connection.vendor == "postgresql":
        columns = ", ".join(f"(r->>{i})::{t}" for i, t in enumerate(pg_types))
        return (
            f"SELECT {columns} FROM jsonb_array_elements(%s::jsonb) AS r",
            [msgspec.json.encode(rows).decode()],
        )
    row = "(" + ", ".join(["%s"] * len(pg_types)) + ")"
    return "VALUES " + ", ".join([row] * len(rows)), [value for r in rows for value in r]


def any_of(column: str, values: list) -> tuple[str, list]:
    """``column`` is one of ``values``: one array parameter on PostgreSQL."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)

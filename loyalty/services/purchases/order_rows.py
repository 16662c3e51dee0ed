"""The order and its lines, written by fixed SQL: one statement on PostgreSQL (the
lines' ``INSERT`` reads the order's id from a data-modifying CTE), two on SQLite.

The ORM's ``create`` and ``bulk_create`` cost more CPU to compile and to adapt their
parameters (``bulk_create``'s arrays, quoted in Python by a client-side cursor) than
the database spent on the rows (docs/performance.md, "Orders: where the time goes").
The values still go through each field's ``get_db_prep_save``, so they are stored
exactly as the ORM stores them. On PostgreSQL the lines go as one JSON parameter: one
statement text for any number of lines (JSON is dumped in C, arrays in Python). An
``IntegrityError`` (a replayed ``external_id``) is raised as from ``create``.
"""

import functools
import json

from django.db import connection

from core.sql import default_connection, insert_statement, insert_values, instance_insert, mark_inserted
from storefront.models import Order, OrderLine

LINE_FIELDS = [
    OrderLine._meta.get_field(name)
    for name in ("order", "product", "quantity", "unit_price", "refunded_quantity")
]
_SQL: dict[tuple[str, int], str] = {}


def order_insert(*, order: Order, lines: list[tuple[int, int, object]]) -> Order:
    """Insert ``order`` (unsaved) and its ``(product_id, quantity, unit_price)`` lines;
    returns the order with its id."""
    db = default_connection()
    prices = [LINE_FIELDS[3].get_db_prep_save(unit_price, db) for _, _, unit_price in lines]
    if db.vendor != "postgresql":
        instance_insert(order)
        params = []
        for (product_id, quantity, _), price in zip(lines, prices, strict=True):
            params += [order.pk, product_id, quantity, price, 0]
        with db.cursor() as cursor:
            cursor.execute(_lines_statement(len(lines)), params)
        return order
    # The lines as one JSON parameter: one statement text for any number of lines (psycopg
    # parses it once; the server keeps it prepared: loyalty/settings.py). A price goes as
    # its text, which PostgreSQL reads into the numeric exactly.
    insert, fields = insert_statement(Order)
    rows = json.dumps(
        [
            {"p": product_id, "q": quantity, "u": str(price)}
            for (product_id, quantity, _), price in zip(lines, prices, strict=True)
        ]
    )
    with db.cursor() as cursor:
        cursor.execute(_with_lines(insert), [*insert_values(order, fields), rows])
        return mark_inserted(order, cursor.fetchone()[0])


@functools.cache
def _with_lines(order_insert_sql: str) -> str:
    """PostgreSQL: the order's insert, and its lines read from one JSON parameter."""
    return (
        f"WITH new_order AS ({order_insert_sql}) "
        f"INSERT INTO {OrderLine._meta.db_table}"
        " (order_id, product_id, quantity, unit_price, refunded_quantity) "
        "SELECT new_order.id, v.p, v.q, v.u, 0 "
        "FROM new_order, json_to_recordset(%s::json) AS v (p bigint, q integer, u numeric) "
        "RETURNING order_id"
    )


def _lines_statement(line_count: int) -> str:
    key = ("lines-" + connection.vendor, line_count)
    if key not in _SQL:
        rows = ", ".join(["(%s, %s, %s, %s, %s)"] * line_count)
        _SQL[key] = (
            f"INSERT INTO {OrderLine._meta.db_table} "
            f"(order_id, product_id, quantity, unit_price, refunded_quantity) VALUES {rows}"
        )
    return _SQL[key]

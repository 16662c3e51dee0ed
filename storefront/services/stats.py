"""Purchase statistics: what each shopper bought, how often, for "frequently purchased"."""

from collections.abc import Iterable
from datetime import datetime

from django.db import connection

from core.sql import greatest, least
from storefront.models import PurchaseStat


def purchase_stats_record(
    *, shopper_id: int, merchant_id: int, lines: Iterable[tuple[int, int]], at: datetime
) -> None:
    """Count a purchase of each ``(product_id, quantity)`` line; one upsert for all lines.

    Each product's row counts the purchase, adds the quantity and keeps the earliest and
    latest times. Called by the purchase pipeline, in its transaction.
    """
    table = PurchaseStat._meta.db_table
    at = connection.ops.adapt_datetimefield_value(at)
    rows = [(shopper_id, product_id, merchant_id, 1, quantity, at, at) for product_id, quantity in lines]
    if not rows:
        return
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table}
                (shopper_id, product_id, merchant_id, times_purchased, quantity,
                 first_purchased_at, last_purchased_at)
            VALUES {values}
            ON CONFLICT (shopper_id, product_id) DO UPDATE SET
                times_purchased = {table}.times_purchased + 1,
                quantity = {table}.quantity + EXCLUDED.quantity,
                first_purchased_at = {least()}({table}.first_purchased_at, EXCLUDED.first_purchased_at),
                last_purchased_at = {greatest()}({table}.last_purchased_at, EXCLUDED.last_purchased_at)
            """,
            [value for row in rows for value in row],
        )

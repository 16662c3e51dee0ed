"""Purchase statistics: what each shopper bought, how often, for "frequently purchased"."""

import json
from collections.abc import Iterable
from datetime import datetime

from django.db import connection
from django.db.models import Count, F, Max, Min, Sum

from core.sql import greatest, least
from storefront.models import OrderLine, PurchaseStat


def purchase_stats_record(
    *, shopper_id: int, merchant_id: int, lines: Iterable[tuple[int, int]], at: datetime
) -> None:
    """Count a purchase of each ``(product_id, quantity)`` line; one upsert for all lines.

    Each product's row counts the purchase, adds the quantity and keeps the earliest and
    latest times.
    """
    statement, params = purchase_stats_upsert(
        shopper_id=shopper_id, merchant_id=merchant_id, lines=lines, at=at
    )
    if statement:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)


def purchase_stats_upsert(
    *, shopper_id: int, merchant_id: int, lines: Iterable[tuple[int, int]], at: datetime
) -> tuple[str, dict]:
    """The upsert of :func:`purchase_stats_record` with its named parameters (``stat_*``),
    for a caller that runs it as a CTE of a larger statement (the purchase pipeline on
    PostgreSQL); ``("", {})`` without lines."""
    lines = list(lines)
    if not lines:
        return "", {}
    table = PurchaseStat._meta.db_table
    params = {
        "stat_shopper": shopper_id,
        "stat_merchant": merchant_id,
        "stat_at": connection.ops.adapt_datetimefield_value(at),
    }
    if connection.vendor == "postgresql":
        # The lines as one JSON parameter: one statement text for any number of lines, so
        # psycopg parses it once and the server keeps it prepared (loyalty/settings.py);
        # JSON is dumped in C, where psycopg dumps arrays in Python.
        params["stat_lines"] = json.dumps(
            [{"p": product_id, "q": quantity} for product_id, quantity in lines]
        )
        rows = (
            "SELECT %(stat_shopper)s, v.p, %(stat_merchant)s, 1, v.q, %(stat_at)s, %(stat_at)s"
            " FROM json_to_recordset(%(stat_lines)s::json) AS v (p bigint, q integer)"
        )
    else:
        values = []
        for i, (product_id, quantity) in enumerate(lines):
            params[f"stat_p{i}"], params[f"stat_q{i}"] = product_id, quantity
            values.append(
                f"(%(stat_shopper)s, %(stat_p{i})s, %(stat_merchant)s, 1, %(stat_q{i})s,"
                " %(stat_at)s, %(stat_at)s)"
            )
        rows = f"VALUES {', '.join(values)}"
    statement = f"""
        INSERT INTO {table} AS s
            (shopper_id, product_id, merchant_id, times_purchased, quantity,
             first_purchased_at, last_purchased_at)
        {rows}
        ON CONFLICT (shopper_id, product_id) DO UPDATE SET
            times_purchased = s.times_purchased + 1,
            quantity = s.quantity + EXCLUDED.quantity,
            first_purchased_at = {least()}(s.first_purchased_at, EXCLUDED.first_purchased_at),
            last_purchased_at = {greatest()}(s.last_purchased_at, EXCLUDED.last_purchased_at)"""
    return statement, params


def purchase_stats_recount(*, shopper_id: int, product_ids: list[int]) -> None:
    """Recount a shopper's "frequently purchased" rows of these products after a refund.

    From the lines that are not wholly refunded: a line refunded in full was not bought,
    a half-refunded one counts what was kept. A product with no such line leaves the list.
    Three statements whatever the number of products.
    """
    kept = {
        row["product_id"]: row
        for row in OrderLine.objects.filter(
            order__shopper_id=shopper_id, product_id__in=product_ids, refunded_quantity__lt=F("quantity")
        )
        .values("product_id")
        .annotate(
            times=Count("id"),
            kept_quantity=Sum(F("quantity") - F("refunded_quantity")),
            first=Min("order__paid_at"),
            last=Max("order__paid_at"),
        )
    }
    stats = list(PurchaseStat.objects.filter(shopper_id=shopper_id, product_id__in=product_ids))
    for stat in stats:
        row = kept.get(stat.product_id)
        if row is not None:
            stat.times_purchased, stat.quantity = row["times"], row["kept_quantity"]
            stat.first_purchased_at, stat.last_purchased_at = row["first"], row["last"]
    PurchaseStat.objects.bulk_update(
        [s for s in stats if s.product_id in kept],
        ["times_purchased", "quantity", "first_purchased_at", "last_purchased_at"],
    )
    gone = [s.pk for s in stats if s.product_id not in kept]
    if gone:
        PurchaseStat.objects.filter(pk__in=gone).delete()

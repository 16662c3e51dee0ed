"""Preference writes: one upsert per chunk of orders or per engagement batch.

The rules (weights, half-life) are in ``storefront.affinity``.

- Purchases: in the purchase pipeline, in the order's transaction
  (``order_interests`` and ``preferences_upsert``; on PostgreSQL the upsert is one CTE
  of the order's one statement of side effects, with the purchase statistics and the
  fan score). The order is written with ``preferences_at`` set.
  ``preferences_fold_orders`` remains as a backfill only (no schedule): it folds the
  orders whose ``preferences_at`` is null, i.e. recorded before preferences moved into
  the pipeline (``python manage.py shell -c`` or the ``fold_order_preferences`` task).
- Engagement: ``engagement_record`` (at the top layer) calls
  ``preferences_from_engagement`` with the events that name a sku, in its transaction.
"""

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from core.jobs import chunks_run
from core.sql import decay, greatest
from storefront import affinity
from storefront.models import Order, OrderLine, Preference, Product


@dataclass(frozen=True)
class Interest:
    """``weight`` added to a shopper's ``(kind, slug)`` at ``at``."""

    shopper_id: int
    kind: str
    slug: str
    weight: float
    at: datetime


ORDERS_BATCH = 5_000


def preferences_fold_orders(*, now: datetime | None = None, batch: int = ORDERS_BATCH) -> int:
    """Add every order not folded in yet to its shopper's preferences; returns the orders.

    A backfill: the pipeline folds every new order itself. Each line adds
    :data:`affinity.PURCHASE_WEIGHT` to its product's category and tags, at the order's
    ``paid_at``. Per chunk of orders, in one transaction: the claim (an
    ``UPDATE`` of the chunk's orders still unfolded: two workers never fold one twice),
    the chunk's lines with their products, one upsert.
    """
    now = now or timezone.now()
    pending = Order.objects.filter(preferences_at__isnull=True)

    def claim(chunk) -> int:
        return pending.filter(pk__gte=chunk.lo, pk__lte=chunk.hi).update(preferences_at=now)

    def work(chunk) -> int:
        lines = OrderLine.objects.filter(
            order_id__gte=chunk.lo, order_id__lte=chunk.hi, order__preferences_at=now
        ).values_list("order__shopper_id", "order__paid_at", "product__category__slug", "product__tags")
        preferences_add(
            interests=[
                Interest(shopper_id, kind, slug, affinity.PURCHASE_WEIGHT, paid_at)
                for shopper_id, paid_at, category, tags in lines
                for kind, slug in affinity.product_slugs(category=category, tags=tags or [])
            ]
        )
        return len(chunk)

    return sum(chunks_run(pending, size=batch, work=work, claim=claim).done)


def preferences_from_engagement(
    *, merchant_id: int, events: Iterable[tuple[int, str, str, int, datetime]]
) -> None:
    """Engagement events ``(shopper_id, sku, kind, quantity, occurred_at)`` of one merchant.

    Two statements for the batch: its products by sku, and the upsert. A sku the
    merchant has no product for adds nothing (the event still counts for the fan score).
    """
    events = [event for event in events if event[1] and affinity.ENGAGEMENT_WEIGHTS.get(event[2], 0) > 0]
    if not events:
        return
    products = {
        product.sku: product
        for product in Product.objects.filter(merchant_id=merchant_id, sku__in={e[1] for e in events})
        .select_related("category")
        .only("sku", "tags", "category__slug")
    }
    preferences_add(
        interests=[
            Interest(shopper_id, kind, slug, affinity.ENGAGEMENT_WEIGHTS[event_kind] * quantity, at)
            for shopper_id, sku, event_kind, quantity, at in events
            if sku in products
            for kind, slug in _slugs(products[sku])
        ]
    )


def preferences_add(*, interests: Iterable[Interest]) -> None:
    """Add each interest to its row, decaying both sides to the later time; one upsert
    (positional parameters: engagement batches hold thousands)."""
    folded = _folded(interests)
    if not folded:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_upsert_sql(_JSON_ROWS), _json_params(folded))
        return
    params = []
    for (shopper_id, kind, slug), (weight, at) in sorted(folded.items()):
        params += [shopper_id, kind, slug, weight, connection.ops.adapt_datetimefield_value(at)]
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql("VALUES " + ", ".join(["(%s, %s, %s, %s, %s)"] * len(folded))), params)


def order_interests(
    *, shopper_id: int, paid_at: datetime, products: Iterable[tuple[str | None, Iterable[str]]]
) -> list[Interest]:
    """What an order's lines add: :data:`affinity.PURCHASE_WEIGHT` per line to its
    product's category and each tag, at ``paid_at`` (``products``: ``(category slug,
    tags)`` of each line)."""
    return [
        Interest(shopper_id, kind, slug, affinity.PURCHASE_WEIGHT, paid_at)
        for category, tags in products
        for kind, slug in affinity.product_slugs(category=category, tags=tags or [])
    ]


def preferences_upsert(*, interests: Iterable[Interest]) -> tuple[str, dict]:
    """The upsert of :func:`preferences_add` with its named parameters (``pref_*``), for a
    caller that runs it as a CTE of a larger statement (the purchase pipeline on
    PostgreSQL); ``("", {})`` when there is nothing to add.

    Interests with the same key are first folded together in Python (PostgreSQL's
    ``ON CONFLICT`` may touch a row once per statement), decayed to the latest of them.
    """
    folded = _folded(interests)
    if not folded:
        return "", {}
    if connection.vendor == "postgresql":
        return _upsert_sql(_JSON_ROWS), _json_params(folded)
    values, params = [], {}
    for i, ((shopper_id, kind, slug), (weight, at)) in enumerate(sorted(folded.items())):
        params.update(
            {
                f"pref_s{i}": shopper_id,
                f"pref_k{i}": kind,
                f"pref_g{i}": slug,
                f"pref_w{i}": weight,
                f"pref_t{i}": connection.ops.adapt_datetimefield_value(at),
            }
        )
        values.append(f"(%(pref_s{i})s, %(pref_k{i})s, %(pref_g{i})s, %(pref_w{i})s, %(pref_t{i})s)")
    return _upsert_sql(f"VALUES {', '.join(values)}"), params


# PostgreSQL: the rows as one JSON parameter, so the statement's text is the same however
# many rows (psycopg parses it once; the server keeps it prepared: loyalty/settings.py).
# JSON is dumped in C, where psycopg dumps arrays in Python; the time goes as ISO text and
# a weight as its shortest exact decimal (``repr``), so both arrive unchanged.
_JSON_ROWS = (
    "SELECT * FROM json_to_recordset(%(pref_rows)s::json)"
    " AS v (s bigint, k text, g text, w double precision, t timestamptz)"
)


def _json_params(folded: dict[tuple[int, str, str], tuple[float, datetime]]) -> dict:
    rows = [
        {"s": shopper_id, "k": kind, "g": slug, "w": weight, "t": at.isoformat()}
        for (shopper_id, kind, slug), (weight, at) in sorted(folded.items())
    ]
    return {"pref_rows": json.dumps(rows)}


def _folded(interests: Iterable[Interest]) -> dict[tuple[int, str, str], tuple[float, datetime]]:
    folded: dict[tuple[int, str, str], tuple[float, datetime]] = {}
    for interest in interests:
        key = (interest.shopper_id, interest.kind, interest.slug)
        if key not in folded:
            folded[key] = (interest.weight, interest.at)
            continue
        weight, at = folded[key]
        latest = max(at, interest.at)
        folded[key] = (
            affinity.decayed(weight, since=at, now=latest)
            + affinity.decayed(interest.weight, since=interest.at, now=latest),
            latest,
        )
    return folded


def _upsert_sql(rows: str) -> str:
    """The upsert of ``rows`` (a ``VALUES`` list or a ``SELECT``) of
    ``(shopper_id, kind, slug, weight, updated_at)``, built once per text and database."""
    return _upsert_sql_for(rows, connection.vendor)


@functools.lru_cache(maxsize=256)
def _upsert_sql_for(rows: str, vendor: str) -> str:  # vendor: the cache key (the SQL spells per database)
    half_life = str(affinity.HALF_LIFE.total_seconds())

    def faded(row: str, other: str) -> str:
        # ``row``'s weight decayed to the later of the two moments: decay clamps at 0, so
        # decaying to the other row's moment is that (and keeps the order's statement
        # under psycopg's parse cache: core.sql.compact).
        left = decay(later=f"{other}.updated_at", earlier=f"{row}.updated_at", half_life_seconds=half_life)
        return f"{row}.weight * {left}"

    return f"""
        INSERT INTO {Preference._meta.db_table} AS p (shopper_id, kind, slug, weight, updated_at)
        {rows}
        ON CONFLICT (shopper_id, kind, slug) DO UPDATE SET
            weight = {faded("p", "EXCLUDED")} + {faded("EXCLUDED", "p")},
            updated_at = {greatest()}(p.updated_at, EXCLUDED.updated_at)"""


def _slugs(product: Product) -> list[tuple[str, str]]:
    category = product.category.slug if product.category_id else None
    return affinity.product_slugs(category=category, tags=product.tags or [])

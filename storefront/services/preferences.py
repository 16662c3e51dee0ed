"""Preference writes: one upsert per order or engagement batch, whatever its size.

The rules (weights, half-life) are in ``storefront.affinity``. The pipelines at the top
layer call these in their transactions: ``purchase_record`` with the order's products,
``engagement_record`` with the events that name a sku.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from core.sql import epoch_seconds, greatest
from storefront import affinity
from storefront.models import Preference, Product


@dataclass(frozen=True)
class Interest:
    """``weight`` added to a shopper's ``(kind, slug)`` at ``at``."""

    shopper_id: int
    kind: str
    slug: str
    weight: float
    at: datetime


def preferences_from_purchase(*, shopper_id: int, products: Iterable[Product], at: datetime) -> None:
    """An order's lines: :data:`affinity.PURCHASE_WEIGHT` to each product's category and tags.

    ``products`` have their category loaded (``products_by_sku`` does); one statement.
    """
    preferences_add(
        interests=[
            Interest(shopper_id, kind, slug, affinity.PURCHASE_WEIGHT, at)
            for product in products
            for kind, slug in _slugs(product)
        ]
    )


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
    """Add each interest to its row, decaying both sides to the later time; one upsert.

    Interests with the same key are first folded together in Python (PostgreSQL's
    ``ON CONFLICT`` may touch a row once per statement), decayed to the latest of them.
    """
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
    if not folded:
        return
    table = Preference._meta.db_table
    later = f"{greatest()}({table}.updated_at, EXCLUDED.updated_at)"
    half_life = affinity.HALF_LIFE.total_seconds()

    def faded(weight: str, since: str) -> str:
        return (
            f"{weight} * POWER(0.5, CAST(({epoch_seconds(later)} - {epoch_seconds(since)}) / {half_life}"
            " AS DOUBLE PRECISION))"
        )

    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(folded))
    params = []
    for (shopper_id, kind, slug), (weight, at) in sorted(folded.items()):
        params += [shopper_id, kind, slug, weight, connection.ops.adapt_datetimefield_value(at)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (shopper_id, kind, slug, weight, updated_at)
            VALUES {values}
            ON CONFLICT (shopper_id, kind, slug) DO UPDATE SET
                weight = {faded(f"{table}.weight", f"{table}.updated_at")}
                       + {faded("EXCLUDED.weight", "EXCLUDED.updated_at")},
                updated_at = {later}
            """,
            params,
        )


def _slugs(product: Product) -> list[tuple[str, str]]:
    category = product.category.slug if product.category_id else None
    return affinity.product_slugs(category=category, tags=product.tags or [])

"""What an order leaves behind besides its rows: its points (the lot and the balance), the
"frequently purchased" statistics, the shopper's preferences and the attributed account's
engagement (the fan score and the order's day as a ``purchase`` event), and the member's
move up a tier when the order's spend reaches one.

On PostgreSQL all of it is **one statement**: each part is a data-modifying CTE of a
``WITH ... SELECT 1`` (they write different tables, so they cannot see or block each
other within it); with the tier's move, the statement selects the move's outcome
(``purchases/tiers.py``). SQLite has no data-modifying CTEs: there each part is a
statement of its own (seven at most), which the order's budget leaves room for because
SQLite reads the member, the products and the coupons in one statement (``member.py``).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from core.sql import compact
from loyalty.services.points import points_credit_ctes, points_credit_locked
from loyalty.services.purchases.tiers import (
    TIER_UPGRADE_CTES,
    TIER_UPGRADE_RESULT,
    Upgrade,
    tier_upgrade,
    tier_upgrade_params,
    tier_upgrade_read,
)
from members.engagement.services.purchase import (
    purchase_engagement_ctes,
    purchase_engagement_record,
    purchase_params,
)
from members.models import Membership
from storefront.services.preferences import order_interests, preferences_upsert
from storefront.services.stats import purchase_stats_upsert


@dataclass(frozen=True)
class Attribution:
    account_id: int | None  # None: the merchant has no brand account
    follows: bool  # whether the buyer follows it (SQLite's purchase statement needs it)


def order_effects_record(
    *,
    merchant_id: int,
    shopper_id: int,
    lines: list[tuple[int, int, str | None, tuple[str, ...]]],
    paid_at: datetime,
    attribution: Attribution,
    credit: dict | None = None,
    move_up: Membership | None = None,
    now: datetime | None = None,
) -> Upgrade | None:
    """``lines``: ``(product_id, quantity, category slug, tags)`` of each order line.
    ``credit``: the order's points (``points_credit_locked``'s arguments; the caller holds
    the account's lock), written here: in the same statement on PostgreSQL.
    ``move_up``: the (locked) membership to move up to the tier its spend reaches at
    ``now``, the order's own included; returns the move made, which the caller finishes
    (``upgrade_recorded``), or None."""
    stats, stats_params = purchase_stats_upsert(
        shopper_id=shopper_id,
        merchant_id=merchant_id,
        lines=[(product_id, quantity) for product_id, quantity, _, _ in lines],
        at=paid_at,
    )
    prefs, prefs_params = preferences_upsert(
        interests=order_interests(
            shopper_id=shopper_id, paid_at=paid_at, products=[(slug, tags) for _, _, slug, tags in lines]
        )
    )
    if connection.vendor != "postgresql":
        moved = tier_upgrade(membership=move_up, now=now) if move_up is not None else None
        if credit is not None:
            points_credit_locked(**credit)
        with connection.cursor() as cursor:
            if stats:
                cursor.execute(stats, stats_params)
            if prefs:
                cursor.execute(prefs, prefs_params)
        if attribution.account_id is not None:
            purchase_engagement_record(
                merchant_id=merchant_id,
                shopper_id=shopper_id,
                account_id=attribution.account_id,
                occurred_at=paid_at,
                follows=attribution.follows,
            )
        return moved
    ctes: list[tuple[str, str]] = []
    params: dict = {}
    if credit is not None:
        credit_ctes, params = points_credit_ctes(**credit)
        ctes += credit_ctes
    if attribution.account_id is not None:
        ctes += purchase_engagement_ctes()
        params |= purchase_params(
            merchant_id=merchant_id,
            shopper_id=shopper_id,
            account_id=attribution.account_id,
            occurred_at=paid_at,
        )
    if stats:
        ctes.append(("stats", stats))
        params |= stats_params
    if prefs:
        ctes.append(("prefs", prefs))
        params |= prefs_params
    result = "SELECT 1"
    if move_up is not None:
        ctes += TIER_UPGRADE_CTES
        params |= tier_upgrade_params(membership=move_up, now=now)
        result = TIER_UPGRADE_RESULT
    if not ctes:
        return None
    with connection.cursor() as cursor:
        parts = ", ".join(f"{name} AS ({body})" for name, body in ctes)
        cursor.execute(compact(f"WITH {parts} {result}"), params)
        row = cursor.fetchone() if move_up is not None else None
    return None if row is None else tier_upgrade_read(row, membership=move_up)

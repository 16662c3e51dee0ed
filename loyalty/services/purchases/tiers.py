"""The tier an order can lift its member to."""

from datetime import datetime, timedelta

from django.db import connection

from loyalty.models import TierReward
from loyalty.services.tiers import TierMove
from members.models import Membership, Tier
from storefront.models import Order
from storefront.rules import MAX_CLOCK_SKEW

ROLLING_SPEND_WINDOW = timedelta(days=365)


def higher_tier_exists(*, membership: Membership, top_rank: int | None) -> bool:
    """Can the member move up at all? Not without tiers, nor from the top one."""
    if top_rank is None:
        return False
    return membership.tier is None or membership.tier.rank < top_rank


def tier_upgrade(*, membership: Membership, now: datetime) -> TierMove | None:
    """Move the member up to the highest tier their rolling 12-month spend reaches.

    One statement, in SQL: built with the ORM's nested subqueries it cost about half of
    an order's CPU to compile (docs/performance.md). The order's own points were earned
    at the tier it was placed in; the new tier's multiplier applies from the next order.
    Tiers only go up here. Returns the move (``RETURNING``, in the same statement), or
    None: the membership row is locked with the points account, so the tier it was read
    in is the one it moves from. The same statement says whether the new tier has a
    reward: most have none, and the move then reads nothing more for it.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            TIER_UPGRADE_SQL,
            {
                "membership": membership.pk,
                "merchant": membership.merchant_id,
                "shopper": membership.shopper_id,
                "since": connection.ops.adapt_datetimefield_value(now - ROLLING_SPEND_WINDOW),
                "now": connection.ops.adapt_datetimefield_value(now + MAX_CLOCK_SKEW),
                "at": connection.ops.adapt_datetimefield_value(now),
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    to_tier_id, has_reward = row
    return TierMove(
        membership=membership,
        from_tier_id=membership.tier_id,
        to_tier_id=to_tier_id,
        reward_possible=bool(has_reward),
    )


_MEMBERSHIP = Membership._meta.db_table  # unaliased: SQLite's RETURNING reads no alias
_REWARD_TIER = TierReward._meta.get_field("tier").column
TIER_UPGRADE_SQL = f"""
    UPDATE {_MEMBERSHIP} SET tier_id = reached.id, tier_since = %(at)s
    FROM (
        SELECT id, rank FROM {Tier._meta.db_table}
        WHERE merchant_id = %(merchant)s AND min_spend_12m <= COALESCE(
            (SELECT SUM(total - refunded_amount) FROM {Order._meta.db_table}
             WHERE merchant_id = %(merchant)s AND shopper_id = %(shopper)s
               AND paid_at >= %(since)s AND paid_at <= %(now)s), 0)
        ORDER BY rank DESC LIMIT 1
    ) AS reached
    WHERE {_MEMBERSHIP}.id = %(membership)s
      AND ({_MEMBERSHIP}.tier_id IS NULL
           OR (SELECT rank FROM {Tier._meta.db_table} WHERE id = {_MEMBERSHIP}.tier_id) < reached.rank)
    RETURNING tier_id,
        EXISTS (SELECT 1 FROM {TierReward._meta.db_table} r WHERE r.{_REWARD_TIER} = {_MEMBERSHIP}.tier_id)
"""

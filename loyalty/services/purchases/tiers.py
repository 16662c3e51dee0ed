"""The tier an order can lift its member to.

On PostgreSQL the upgrade is two CTEs of the order's side effects' statement
(``effects.py``): the membership's update, and its history row when the new tier has no
reward (most tiers). A tier with a reward gets its row after the statement, with the
coupon it issues (``tier_moved``). SQLite runs the update as a statement of its own.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from loyalty.models import TierChange, TierReward
from loyalty.services.tiers import TierMove, tier_changes_emit, tier_moved
from members.models import Membership, Merchant, Tier
from storefront.models import Order
from storefront.rules import MAX_CLOCK_SKEW

ROLLING_SPEND_WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class Upgrade:
    """An order's move of its member up a tier, made on the membership."""

    move: TierMove
    change_id: int | None  # its history row, when the statement wrote it (no reward due)


def higher_tier_exists(*, membership: Membership, top_rank: int | None) -> bool:
    """Can the member move up at all? Not without tiers, nor from the top one."""
    if top_rank is None:
        return False
    return membership.tier is None or membership.tier.rank < top_rank


def tier_upgrade(*, membership: Membership, now: datetime) -> Upgrade | None:
    """Move the member up to the highest tier their rolling 12-month spend reaches.

    One statement, in SQL: built with the ORM's nested subqueries it cost about half of
    an order's CPU to compile (docs/performance.md). The order's own points were earned
    at the tier it was placed in; the new tier's multiplier applies from the next order.
    Tiers only go up here. Returns the move (``RETURNING``, in the same statement), or
    None: the membership row is locked with the points account, so the tier (and rank)
    it was read in is the one it moves from. The same statement says whether the new
    tier has a reward: most have none, and the move then reads nothing more for it.
    """
    with connection.cursor() as cursor:
        cursor.execute(TIER_UPGRADE_SQL, tier_upgrade_params(membership=membership, now=now))
        row = cursor.fetchone()
    return None if row is None else tier_upgrade_read((*row, None), membership=membership)


def tier_upgrade_params(*, membership: Membership, now: datetime) -> dict:
    """The named parameters of the upgrade's statement and CTEs (``tu_*``)."""
    adapt = connection.ops.adapt_datetimefield_value
    return {
        "tu_membership": membership.pk,
        "tu_merchant": membership.merchant_id,
        "tu_shopper": membership.shopper_id,
        "tu_from": membership.tier_id,
        # The rank it moves from (-1: no tier; ranks are not negative), as the member row
        # read it under the membership's lock.
        "tu_rank": membership.tier.rank if membership.tier_id is not None else -1,
        "tu_reason": TierChange.Reason.UPGRADE.value,
        "tu_since": adapt(now - ROLLING_SPEND_WINDOW),
        "tu_now": adapt(now + MAX_CLOCK_SKEW),
        "tu_at": adapt(now),
    }


def tier_upgrade_read(row, *, membership: Membership) -> Upgrade:
    """The upgrade from a row of ``TIER_UPGRADE_RESULT``: the new tier, whether it has a
    reward, the history row's id (None when not written)."""
    to_tier_id, has_reward, change_id = row
    move = TierMove(
        membership=membership,
        from_tier_id=membership.tier_id,
        to_tier_id=to_tier_id,
        reward_possible=bool(has_reward),
    )
    return Upgrade(move=move, change_id=change_id)


def upgrade_recorded(upgrade: Upgrade, *, now: datetime, merchant: Merchant) -> None:
    """Finish an upgrade made on the membership: its history row (with the reward's
    coupon) unless the statement wrote it, and its ``tier.changed`` event."""
    if upgrade.change_id is None:
        tier_moved(move=upgrade.move, reason=TierChange.Reason.UPGRADE, now=now, merchant=merchant)
    else:
        tier_changes_emit(change_ids=[upgrade.change_id], merchant=merchant)


_MEMBERSHIP = Membership._meta.db_table  # unaliased: SQLite's RETURNING reads no alias
_REWARD_TIER = TierReward._meta.get_field("tier").column
TIER_UPGRADE_SQL = f"""
    UPDATE {_MEMBERSHIP} SET tier_id = reached.id, tier_since = %(tu_at)s
    FROM (
        SELECT id, rank FROM {Tier._meta.db_table}
        WHERE merchant_id = %(tu_merchant)s AND min_spend_12m <= COALESCE(
            (SELECT SUM(total - refunded_amount) FROM {Order._meta.db_table}
             WHERE merchant_id = %(tu_merchant)s AND shopper_id = %(tu_shopper)s
               AND paid_at >= %(tu_since)s AND paid_at <= %(tu_now)s), 0)
        ORDER BY rank DESC LIMIT 1
    ) AS reached
    WHERE {_MEMBERSHIP}.id = %(tu_membership)s AND reached.rank > %(tu_rank)s
    RETURNING tier_id, EXISTS (
        SELECT 1 FROM {TierReward._meta.db_table} r WHERE r.{_REWARD_TIER} = {_MEMBERSHIP}.tier_id
    ) AS has_reward
"""


def _column(name: str) -> str:
    return TierChange._meta.get_field(name).column


# PostgreSQL: the update, and the history row of a move to a tier without a reward, as CTEs
# of the side effects' statement; its result is TIER_UPGRADE_RESULT (no row: no move).
TIER_UPGRADE_CTES = (
    ("tier_moved", TIER_UPGRADE_SQL),
    (
        "tier_change",
        f"INSERT INTO {TierChange._meta.db_table}"
        f" ({', '.join(map(_column, ('membership', 'from_tier', 'to_tier', 'reason', 'note', 'at')))})"
        " SELECT %(tu_membership)s, %(tu_from)s, tier_id, %(tu_reason)s, '', %(tu_at)s"
        " FROM tier_moved WHERE NOT has_reward RETURNING id",
    ),
)
TIER_UPGRADE_RESULT = "SELECT tier_id, has_reward, (SELECT id FROM tier_change) FROM tier_moved"

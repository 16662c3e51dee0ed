"""Tier moves and their history: the order's upgrade, the nightly review, staff's changes.

Every move writes a ``TierChange`` and restarts the member's ``tier_since`` (the grace
period counts from it). Moving *up* to a tier with an upgrade reward issues its coupon,
once a year at most per member and tier: falling and climbing back within the year
issues nothing more.

The nightly review (:func:`tier_review`) moves a member whose rolling 12-month spend no
longer reaches their tier one tier down (or out of the tiers from the lowest one), never
within the program's ``tier_grace_days`` of reaching it. It walks the memberships in
key ranges (``core.jobs.chunks_run``); on PostgreSQL each chunk is one statement that
picks the due members, locks them by id, moves them and writes their history; a second
run the same day finds none due (the moved ones reached their tier that day).
"""

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import connection, transaction
from django.utils import timezone

from core.errors import DomainError
from core.jobs import Chunk, chunks_run
from core.sql import instance_insert, instance_of, model_columns, timestamp
from coupons.models import Coupon, CouponTemplate
from coupons.services.issuing import coupon_issue
from loyalty.models import Program, TierChange, TierReward
from members.errors import TierNotFound
from members.locks import memberships_lock
from members.models import Membership, Merchant, Tier
from members.webhooks.events import webhook_events_write, webhook_listening
from members.webhooks.models import EventType
from storefront.models import Order
from storefront.rules import MAX_CLOCK_SKEW

logger = logging.getLogger(__name__)

REVIEW_BATCH = 5000
ROLLING_SPEND_WINDOW = timedelta(days=365)
DEFAULT_GRACE_DAYS = Program._meta.get_field("tier_grace_days").default
# A reward is issued at most once in this window per member and tier.
REWARD_ONCE_WITHIN = timedelta(days=365)


@dataclass(frozen=True)
class TierMove:
    """A member's move between tiers (ids), for the history and its effects."""

    membership: Membership
    from_tier_id: int | None
    to_tier_id: int | None
    # False when the move was read with the knowledge that the tier has no reward (an
    # order's upgrade reads it in its statement): no reward is then looked up.
    reward_possible: bool = True


def tier_moved(
    *, move: TierMove, reason: str, now: datetime, by=None, note: str = "", merchant: Merchant | None = None
) -> TierChange:
    """Record a move already made on the (locked) membership: history, reward, event.

    The caller holds the membership's lock (the order holds it with the points account),
    which is also the lock a coupon issue to the member needs. An order passes the
    ``merchant`` it holds, so that the webhook check reads no row; an upgrade is up by
    definition, so only other moves compare the tiers' ranks.
    """
    up = reason == TierChange.Reason.UPGRADE or _is_up(move)
    coupon = _reward(move=move, now=now) if up else None
    # A fixed insert: an upgrading order records one, and the ORM's compile of the
    # insert cost more than the rest of the move.
    change = instance_insert(
        TierChange(
            membership_id=move.membership.pk,
            from_tier_id=move.from_tier_id,
            to_tier_id=move.to_tier_id,
            reason=reason,
            note=note,
            coupon=coupon,
            created_by=by,
            at=now,
        )
    )
    tier_changes_emit(change_ids=[change.pk], merchant=merchant or move.membership.merchant)
    return change


def _is_up(move: TierMove) -> bool:
    if move.to_tier_id is None:
        return False
    if move.from_tier_id is None:
        return True
    ranks = dict(Tier.objects.filter(pk__in=[move.from_tier_id, move.to_tier_id]).values_list("pk", "rank"))
    return ranks.get(move.to_tier_id, 0) > ranks.get(move.from_tier_id, 0)


def _reward(*, move: TierMove, now: datetime) -> Coupon | None:
    """The tier's upgrade coupon, unless this member had it from this tier within a year.

    A reward that cannot be issued (template paused, out of stock, limit reached) leaves
    the move as it is: the coupon's own checks write nothing when they refuse.
    """
    if not move.reward_possible:
        return None
    template = _reward_template(
        tier_id=move.to_tier_id, membership_id=move.membership.pk, since=now - REWARD_ONCE_WITHIN
    )
    if template is None:
        return None
    try:
        return coupon_issue(
            template=template,
            merchant_id=move.membership.merchant_id,
            shopper_id=move.membership.shopper_id,
            source=Coupon.Source.TIER,
            now=now,
        )
    except DomainError as refused:
        logger.warning("tier reward of tier %s not issued: %s", move.to_tier_id, refused.code)
        return None


def _reward_template(*, tier_id: int, membership_id: int, since: datetime) -> CouponTemplate | None:
    """The template of the tier's upgrade reward, unless the member was rewarded on
    reaching this tier after ``since``; None without a reward.

    One statement, written out: an order that moves its member up reads it, and the two
    querysets it replaces (the reward with its template, then the recent change) cost
    more CPU to compile than PostgreSQL spent on them (docs/performance.md).
    """
    with connection.cursor() as cursor:
        cursor.execute(_reward_template_sql(), [membership_id, tier_id, timestamp(since), tier_id])
        row = cursor.fetchone()
    if row is None or row[-1]:
        return None
    return instance_of(CouponTemplate, row)


@functools.cache
def _reward_template_sql() -> str:
    """Parameters: the membership, the tier, the moment after which a reward counts as
    recent, the tier again."""
    quote = connection.ops.quote_name
    reward, template, change = TierReward._meta, CouponTemplate._meta, TierChange._meta

    def column(meta, name: str) -> str:
        return quote(meta.get_field(name).column)

    recently = (
        f"SELECT 1 FROM {quote(change.db_table)} c WHERE c.{column(change, 'membership')} = %s"
        f" AND c.{column(change, 'to_tier')} = %s AND c.{column(change, 'coupon')} IS NOT NULL"
        f" AND c.{column(change, 'at')} > %s"
    )
    return (
        f"SELECT {model_columns(CouponTemplate, 't')}, EXISTS({recently})"
        f" FROM {quote(reward.db_table)} r JOIN {quote(template.db_table)} t"
        f" ON t.{quote(template.pk.column)} = r.{column(reward, 'template')}"
        f" WHERE r.{column(reward, 'tier')} = %s"
    )


@transaction.atomic
def tier_change_manual(
    *, membership: Membership, to_tier: Tier | None, by=None, note: str = ""
) -> TierChange | None:
    """Staff move a member to ``to_tier`` (None: out of the tiers). No change: None."""
    if to_tier is not None and to_tier.merchant_id != membership.merchant_id:
        raise TierNotFound(attr="to_tier")
    now = timezone.now()
    locked = memberships_lock().get(pk=membership.pk)
    target = to_tier.pk if to_tier is not None else None
    if locked.tier_id == target:
        return None
    move = TierMove(membership=locked, from_tier_id=locked.tier_id, to_tier_id=target)
    Membership.objects.filter(pk=locked.pk).update(tier_id=target, tier_since=now)
    return tier_moved(move=move, reason=TierChange.Reason.MANUAL, now=now, by=by, note=note)


@dataclass
class ReviewResult:
    members: int = 0  # memberships looked at (in tiers that need spend)
    moved: int = 0


def tier_review(
    *, now: datetime | None = None, batch: int = REVIEW_BATCH, merchant_id: int | None = None
) -> ReviewResult:
    """Move members whose rolling spend no longer reaches their tier one tier down."""
    now = now or timezone.now()
    day = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    candidates = Membership.objects.filter(status=Membership.Status.ACTIVE, tier__min_spend_12m__gt=0)
    if merchant_id is not None:
        candidates = candidates.filter(merchant_id=merchant_id)
    result = ReviewResult()

    def review(chunk: Chunk) -> None:
        result.members += len(chunk)
        result.moved += _review_chunk(lo=chunk.lo, hi=chunk.hi, now=now, day=day, merchant_id=merchant_id)

    chunks_run(candidates, size=batch, work=review)
    return result


MEMBERSHIP = Membership._meta.db_table
TIER = Tier._meta.db_table
PROGRAM = Program._meta.db_table
ORDER = Order._meta.db_table
CHANGE = TierChange._meta.db_table


def _due_sql(*, grace_cutoff: str, merchant: bool, lock: str = "") -> str:
    return f"""
        SELECT m.id, m.merchant_id, m.tier_id AS from_tier,
            (SELECT lower.id FROM {TIER} AS lower
             WHERE lower.merchant_id = m.merchant_id AND lower.rank < t.rank
             ORDER BY lower.rank DESC LIMIT 1) AS to_tier
        FROM {MEMBERSHIP} AS m
        JOIN {TIER} AS t ON t.id = m.tier_id
        LEFT JOIN {PROGRAM} AS p ON p.merchant_id = m.merchant_id
        WHERE m.id BETWEEN %(lo)s AND %(hi)s AND m.status = 'active' AND t.min_spend_12m > 0
          {"AND m.merchant_id = %(merchant)s" if merchant else ""}
          AND (m.tier_since IS NULL OR m.tier_since < {grace_cutoff})
          AND COALESCE(
              (SELECT SUM(o.total - o.refunded_amount) FROM {ORDER} AS o
               WHERE o.merchant_id = m.merchant_id AND o.shopper_id = m.shopper_id
                 AND o.paid_at >= %(since)s AND o.paid_at <= %(until)s), 0) < t.min_spend_12m
        ORDER BY m.id
        {lock}
    """


def _review_chunk(*, lo: int, hi: int, now: datetime, day: datetime, merchant_id: int | None) -> int:
    ops = connection.ops
    params = {
        "lo": lo,
        "hi": hi,
        "merchant": merchant_id,
        "day": ops.adapt_datetimefield_value(day),
        "now": ops.adapt_datetimefield_value(now),
        "since": ops.adapt_datetimefield_value(now - ROLLING_SPEND_WINDOW),
        "until": ops.adapt_datetimefield_value(now + MAX_CLOCK_SKEW),
        "grace": DEFAULT_GRACE_DAYS,
    }
    if connection.vendor == "postgresql":
        due = _due_sql(
            grace_cutoff="%(day)s::timestamptz"
            " - make_interval(days => COALESCE(p.tier_grace_days, %(grace)s))",
            merchant=merchant_id is not None,
            lock="FOR UPDATE OF m",
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH due AS ({due}),
                moved AS (
                    UPDATE {MEMBERSHIP} AS m SET tier_id = due.to_tier, tier_since = %(now)s
                    FROM due WHERE m.id = due.id
                    RETURNING m.id, due.merchant_id, due.from_tier, due.to_tier
                )
                INSERT INTO {CHANGE} (membership_id, from_tier_id, to_tier_id, reason, note, at)
                SELECT id, from_tier, to_tier, 'review', '', %(now)s FROM moved
                RETURNING id
                """,
                params,
            )
            ids = [row[0] for row in cursor.fetchall()]
    else:
        due = _due_sql(
            grace_cutoff="datetime(%(day)s, '-' || COALESCE(p.tier_grace_days, %(grace)s) || ' days')",
            merchant=merchant_id is not None,
        )
        with connection.cursor() as cursor:
            cursor.execute(due, params)
            found = cursor.fetchall()
        by_target: dict[int | None, list[int]] = {}
        for membership_id, _, _, to_tier in found:
            by_target.setdefault(to_tier, []).append(membership_id)
        for to_tier, ids in by_target.items():
            Membership.objects.filter(pk__in=ids).update(tier_id=to_tier, tier_since=now)
        changes = TierChange.objects.bulk_create(
            TierChange(
                membership_id=membership_id,
                from_tier_id=from_tier,
                to_tier_id=to_tier,
                reason=TierChange.Reason.REVIEW,
                at=now,
            )
            for membership_id, _, from_tier, to_tier in found
        )
        ids = [change.pk for change in changes]
    if ids:
        tier_changes_emit(change_ids=ids)
    return len(ids)


def tier_changes_emit(*, change_ids: list[int], merchant: Merchant | None = None) -> int:
    """``tier.changed`` events for these history rows, for the merchants that want them.

    One read of the merchants' subscriptions (none with ``merchant`` in hand), one of
    the changes, one ``INSERT`` of events per merchant: the review's chunk stays set-based.
    """
    wanted = EventType.TIER_CHANGED
    if merchant is not None and hasattr(merchant, "webhook_events"):
        if wanted not in merchant.webhook_events:
            return 0
        listening = {merchant.pk}
    else:
        merchant_ids = (
            Membership.objects.filter(tier_changes__pk__in=change_ids)
            .values_list("merchant_id", flat=True)
            .distinct()
        )
        listening = set(webhook_listening(type=wanted, merchant_ids=merchant_ids))
    if not listening:
        return 0
    rows = (
        TierChange.objects.filter(pk__in=change_ids, membership__merchant_id__in=listening)
        .order_by("pk")
        .values(
            "pk",
            "reason",
            "at",
            "membership__merchant_id",
            "membership__number",
            "membership__shopper__external_id",
            "from_tier__name",
            "to_tier__name",
        )
    )
    payloads: dict[int, list[dict]] = {}
    for row in rows:
        payloads.setdefault(row["membership__merchant_id"], []).append(
            {
                "shopper": row["membership__shopper__external_id"],
                "membership_number": row["membership__number"],
                "from_tier": row["from_tier__name"],
                "to_tier": row["to_tier__name"],
                "reason": row["reason"],
                "at": row["at"].isoformat().replace("+00:00", "Z"),
            }
        )
    for merchant_id, items in payloads.items():
        webhook_events_write(merchant_id=merchant_id, type=wanted, payloads=items)
    return sum(len(items) for items in payloads.values())

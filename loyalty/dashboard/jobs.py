"""The daily metrics job: one UTC day of a range of merchants, set-based.

A day is computed by three ``INSERT ... SELECT ... GROUP BY`` statements (tiers,
coupons, then the day's row, which sums the coupons just written) after deleting what
that day held for those merchants, all in one transaction: rerunning a day replaces it
whole with the same figures, so a rerun, a backfill of missing days and a rebuild are
all the same operation. Nothing is read row by row in Python.

What "as of the day's end" means for each figure is in docs/dashboard.md. In short:
members and tiers from the memberships' ``joined_at``/``left_at``/``status`` (tiers as
they are now: tier history is not kept by day), fans from that day's per-account
snapshots (``AccountDailyStat``, taken before by ``snapshot_fan_stats``), orders by
``paid_at``, coupons by ``issued_at``/``redeemed_at``/``expires_at``, points from the
ledger's ``created_at``, and "expiring in 30 days" from the lots' unspent remainder.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from core.jobs import chunks_run
from coupons.models import CampaignRun, Coupon
from loyalty.dashboard.models import MerchantDailyCoupons, MerchantDailyMetrics, MerchantDailyTier
from loyalty.models import PointsAccount, PointsEntry
from members.engagement.models import AccountDailyStat
from members.models import Account, Membership, Merchant
from storefront.models import Order

# Merchants per chunk (one transaction, three statements per day).
METRICS_CHUNK_MERCHANTS = 200
REPURCHASE_WINDOW_DAYS = 90
EXPIRING_WINDOW_DAYS = 30

METRICS = MerchantDailyMetrics._meta.db_table
TIERS = MerchantDailyTier._meta.db_table
COUPONS = MerchantDailyCoupons._meta.db_table
MEMBERSHIP = Membership._meta.db_table
MERCHANT = Merchant._meta.db_table
ACCOUNT = Account._meta.db_table
STAT = AccountDailyStat._meta.db_table
ORDER = Order._meta.db_table
COUPON = Coupon._meta.db_table
RUN = CampaignRun._meta.db_table
ENTRY = PointsEntry._meta.db_table
POINTS_ACCOUNT = PointsAccount._meta.db_table


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def last_complete_day(now: datetime | None = None) -> date:
    """Yesterday (UTC): the last day that has ended."""
    return ((now or timezone.now()).astimezone(UTC) - timedelta(days=1)).date()


def _params(day: date, lo: int, hi: int, now: datetime) -> dict:
    start = day_start(day)
    end = start + timedelta(days=1)
    ts = connection.ops.adapt_datetimefield_value
    return {
        "day": connection.ops.adapt_datefield_value(day),
        "start": ts(start),
        "end": ts(end),
        "window_start": ts(end - timedelta(days=REPURCHASE_WINDOW_DAYS)),
        "expiring_end": ts(end + timedelta(days=EXPIRING_WINDOW_DAYS)),
        "now": ts(now),
        "lo": lo,
        "hi": hi,
    }


# Active at the day's end: joined before it, and not left before it.
ACTIVE_AT_END = "ms.joined_at < %(end)s AND (ms.status = 'active' OR ms.left_at >= %(end)s)"


TIERS_INSERT = f"""
INSERT INTO {TIERS} (merchant_id, date, tier_id, members)
SELECT ms.merchant_id, %(day)s, ms.tier_id, COUNT(*)
FROM {MEMBERSHIP} ms
WHERE ms.merchant_id >= %(lo)s AND ms.merchant_id <= %(hi)s AND {ACTIVE_AT_END}
GROUP BY ms.merchant_id, ms.tier_id
"""

COUPONS_INSERT = f"""
INSERT INTO {COUPONS} (merchant_id, date, template_id, source, campaign_id, issued, redeemed, expired)
SELECT x.merchant_id, %(day)s, x.template_id, x.source, r.campaign_id,
       SUM(x.issued), SUM(x.redeemed), SUM(x.expired)
FROM (
    SELECT c.merchant_id, c.template_id, c.source, c.campaign_run_id, 1 AS issued, 0 AS redeemed, 0 AS expired
    FROM {COUPON} c
    WHERE c.merchant_id >= %(lo)s AND c.merchant_id <= %(hi)s
      AND c.issued_at >= %(start)s AND c.issued_at < %(end)s
    UNION ALL
    SELECT c.merchant_id, c.template_id, c.source, c.campaign_run_id, 0, 1, 0
    FROM {COUPON} c
    WHERE c.merchant_id >= %(lo)s AND c.merchant_id <= %(hi)s AND c.state = 'redeemed'
      AND c.redeemed_at >= %(start)s AND c.redeemed_at < %(end)s
    UNION ALL
    SELECT c.merchant_id, c.template_id, c.source, c.campaign_run_id, 0, 0, 1
    FROM {COUPON} c
    WHERE c.merchant_id >= %(lo)s AND c.merchant_id <= %(hi)s AND c.state = 'expired'
      AND c.expires_at >= %(start)s AND c.expires_at < %(end)s
) x
LEFT JOIN {RUN} r ON r.id = x.campaign_run_id
GROUP BY x.merchant_id, x.template_id, x.source, r.campaign_id
"""

METRICS_INSERT = f"""
INSERT INTO {METRICS} (
    merchant_id, date, members, joins, leaves, fans, iron_fans, buyers_90d, repeat_buyers_90d,
    orders, revenue, coupons_issued, coupons_redeemed, coupons_expired,
    points_earned, points_spent, points_expired, points_outstanding, points_expiring_30d, computed_at
)
SELECT m.id, %(day)s,
    COALESCE(ms.members, 0), COALESCE(ms.joins, 0), COALESCE(ms.leaves, 0),
    COALESCE(f.fans, 0), COALESCE(f.iron_fans, 0),
    COALESCE(rb.buyers, 0), COALESCE(rb.repeat_buyers, 0),
    COALESCE(o.orders, 0), COALESCE(o.revenue, 0),
    COALESCE(c.issued, 0), COALESCE(c.redeemed, 0), COALESCE(c.expired, 0),
    COALESCE(p.earned, 0), COALESCE(p.spent, 0), COALESCE(p.expired, 0), COALESCE(p.outstanding, 0),
    COALESCE(x.expiring, 0),
    %(now)s
FROM {MERCHANT} m
LEFT JOIN (
    SELECT ms.merchant_id,
        SUM(CASE WHEN {ACTIVE_AT_END} THEN 1 ELSE 0 END) AS members,
        SUM(CASE WHEN ms.joined_at >= %(start)s AND ms.joined_at < %(end)s THEN 1 ELSE 0 END) AS joins,
        SUM(CASE WHEN ms.left_at >= %(start)s AND ms.left_at < %(end)s THEN 1 ELSE 0 END) AS leaves
    FROM {MEMBERSHIP} ms
    WHERE ms.merchant_id >= %(lo)s AND ms.merchant_id <= %(hi)s
    GROUP BY ms.merchant_id
) ms ON ms.merchant_id = m.id
LEFT JOIN (
    SELECT a.merchant_id, SUM(s.fans) AS fans, SUM(s.iron_fans) AS iron_fans
    FROM {STAT} s JOIN {ACCOUNT} a ON a.id = s.account_id
    WHERE s.date = %(day)s AND a.merchant_id >= %(lo)s AND a.merchant_id <= %(hi)s
    GROUP BY a.merchant_id
) f ON f.merchant_id = m.id
LEFT JOIN (
    SELECT per_buyer.merchant_id, COUNT(*) AS buyers,
        SUM(CASE WHEN per_buyer.n >= 2 THEN 1 ELSE 0 END) AS repeat_buyers
    FROM (
        SELECT od.merchant_id, od.shopper_id, COUNT(*) AS n
        FROM {ORDER} od
        WHERE od.merchant_id >= %(lo)s AND od.merchant_id <= %(hi)s
          AND od.paid_at >= %(window_start)s AND od.paid_at < %(end)s
        GROUP BY od.merchant_id, od.shopper_id
    ) per_buyer
    GROUP BY per_buyer.merchant_id
) rb ON rb.merchant_id = m.id
LEFT JOIN (
    SELECT od.merchant_id, COUNT(*) AS orders, SUM(od.total) AS revenue
    FROM {ORDER} od
    WHERE od.merchant_id >= %(lo)s AND od.merchant_id <= %(hi)s
      AND od.paid_at >= %(start)s AND od.paid_at < %(end)s
    GROUP BY od.merchant_id
) o ON o.merchant_id = m.id
LEFT JOIN (
    SELECT dc.merchant_id, SUM(dc.issued) AS issued, SUM(dc.redeemed) AS redeemed, SUM(dc.expired) AS expired
    FROM {COUPONS} dc
    WHERE dc.date = %(day)s AND dc.merchant_id >= %(lo)s AND dc.merchant_id <= %(hi)s
    GROUP BY dc.merchant_id
) c ON c.merchant_id = m.id
LEFT JOIN (
    SELECT ms.merchant_id,
        SUM(CASE WHEN e.created_at >= %(start)s AND e.kind IN ('earn', 'bonus') THEN e.delta ELSE 0 END)
            AS earned,
        -SUM(CASE WHEN e.created_at >= %(start)s AND e.kind = 'redeem' THEN e.delta ELSE 0 END) AS spent,
        -SUM(CASE WHEN e.created_at >= %(start)s AND e.kind = 'expire' THEN e.delta ELSE 0 END) AS expired,
        SUM(e.delta) AS outstanding
    FROM {ENTRY} e
    JOIN {POINTS_ACCOUNT} pa ON pa.id = e.account_id
    JOIN {MEMBERSHIP} ms ON ms.id = pa.membership_id
    WHERE e.created_at < %(end)s AND ms.merchant_id >= %(lo)s AND ms.merchant_id <= %(hi)s
    GROUP BY ms.merchant_id
) p ON p.merchant_id = m.id
LEFT JOIN (
    SELECT ms.merchant_id, SUM(e.remaining) AS expiring
    FROM {ENTRY} e
    JOIN {POINTS_ACCOUNT} pa ON pa.id = e.account_id
    JOIN {MEMBERSHIP} ms ON ms.id = pa.membership_id
    WHERE e.remaining > 0 AND e.expires_at >= %(end)s AND e.expires_at < %(expiring_end)s
      AND ms.merchant_id >= %(lo)s AND ms.merchant_id <= %(hi)s
    GROUP BY ms.merchant_id
) x ON x.merchant_id = m.id
WHERE m.id >= %(lo)s AND m.id <= %(hi)s
"""


@transaction.atomic
def metrics_day_range(*, day: date, lo: int, hi: int, now: datetime | None = None) -> int:
    """Compute ``day`` for the merchants with ``lo <= id <= hi``; the merchant rows written."""
    params = _params(day, lo, hi, now or timezone.now())
    in_range = {"date": day, "merchant_id__gte": lo, "merchant_id__lte": hi}
    MerchantDailyTier.objects.filter(**in_range).delete()
    MerchantDailyCoupons.objects.filter(**in_range).delete()
    MerchantDailyMetrics.objects.filter(**in_range).delete()
    with connection.cursor() as cursor:
        cursor.execute(TIERS_INSERT, params)
        cursor.execute(COUPONS_INSERT, params)
        cursor.execute(METRICS_INSERT, params)
        return cursor.rowcount


@dataclass
class MetricsResult:
    days: list[date]
    merchant_rows: int


def metrics_compute(
    *,
    days: list[date],
    merchant: Merchant | None = None,
    now: datetime | None = None,
    size: int = METRICS_CHUNK_MERCHANTS,
) -> MetricsResult:
    """Compute each of ``days`` (oldest first) for every merchant, or one, in merchant chunks."""
    now = now or timezone.now()
    merchants = Merchant.objects.all() if merchant is None else Merchant.objects.filter(pk=merchant.pk)
    rows = 0
    for day in sorted(days):
        done = chunks_run(
            merchants,
            size=size,
            work=lambda chunk, day=day: metrics_day_range(day=day, lo=chunk.lo, hi=chunk.hi, now=now),
        ).done
        rows += sum(done)
    return MetricsResult(days=sorted(days), merchant_rows=rows)


def days_missing(*, first: date, last: date, merchant: Merchant | None = None) -> list[date]:
    """The days from ``first`` to ``last`` that some merchant has no row for."""
    merchants = Merchant.objects.all() if merchant is None else Merchant.objects.filter(pk=merchant.pk)
    wanted = merchants.count()
    if wanted == 0:
        return []
    rows = MerchantDailyMetrics.objects.filter(date__gte=first, date__lte=last, merchant__in=merchants)
    have = {
        row["date"] for row in rows.values("date").annotate(n=Count("*")).order_by() if row["n"] >= wanted
    }
    return [d for d in days_between(first, last) if d not in have]


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]

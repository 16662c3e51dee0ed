"""A merchant's day with one of everything the daily metrics count, at known figures.

``DAY`` is the day computed; ``EXPECTED`` is its row. Rows on other days, and another
merchant's rows, are there to be left out.
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from coupons.models import Coupon
from loyalty.models import PointsEntry
from members.models import Account, Membership
from tests.coupons.factories import CampaignRunFactory, CouponFactory, CouponTemplateFactory
from tests.loyalty.factories import PointsAccountFactory, PointsEntryFactory
from tests.members.factories import (
    AccountDailyStatFactory,
    AccountFactory,
    MembershipFactory,
    ShopperFactory,
    TierFactory,
)
from tests.storefront.factories import OrderFactory

DAY = date(2026, 3, 10)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def days_before(n: int, hour: int = 12) -> datetime:
    return at(DAY - timedelta(days=n), hour)


EXPECTED = {
    "members": 2,
    "joins": 1,
    "leaves": 1,
    "fans": 15,
    "iron_fans": 5,
    "buyers_90d": 2,
    "repeat_buyers_90d": 1,
    "orders": 1,
    "revenue": Decimal("50.00"),
    "coupons_issued": 2,
    "coupons_redeemed": 1,
    "coupons_expired": 1,
    "points_earned": 50,
    "points_spent": 30,
    "points_expired": 10,
    "points_outstanding": 110,
    "points_expiring_30d": 40,
}


def build_day(merchant) -> dict:
    """``merchant``'s rows around ``DAY``; returns the objects the tests name."""
    gold = TierFactory(merchant=merchant, name="Gold", rank=3)
    TierFactory(merchant=merchant, name="Fan", rank=1)
    # Members: one from before, one joining on the day, one leaving on it, one joining after.
    member = MembershipFactory(merchant=merchant, tier=gold, joined_at=days_before(5))
    MembershipFactory(merchant=merchant, joined_at=at(DAY, 10))
    MembershipFactory(
        merchant=merchant,
        joined_at=days_before(10),
        status=Membership.Status.LEFT,
        left_at=at(DAY, 9),
    )
    MembershipFactory(merchant=merchant, joined_at=days_before(-1))
    # Fans: two accounts' snapshots of the day (and of the day before, left out).
    brand = AccountFactory(merchant=merchant, kind=Account.Kind.BRAND, handle=f"{merchant.slug}-brand")
    koe = AccountFactory(merchant=merchant, handle=f"{merchant.slug}-koe")
    AccountDailyStatFactory(account=brand, date=DAY, fans=10, iron_fans=3)
    AccountDailyStatFactory(account=koe, date=DAY, fans=5, iron_fans=2)
    AccountDailyStatFactory(account=koe, date=DAY - timedelta(days=1), fans=99, iron_fans=99)
    # Orders: a repeat buyer (40 days before and on the day), a one-time buyer in the window
    # (and once more 100 days before, outside it).
    repeat, once = ShopperFactory(), ShopperFactory()
    OrderFactory(merchant=merchant, shopper=repeat, paid_at=days_before(40))
    OrderFactory(
        merchant=merchant,
        shopper=repeat,
        paid_at=at(DAY, 11),
        subtotal=Decimal("50.00"),
        total=Decimal("50.00"),
    )
    OrderFactory(merchant=merchant, shopper=once, paid_at=days_before(1))
    OrderFactory(merchant=merchant, shopper=once, paid_at=days_before(100))
    # Coupons: two issued by a campaign run on the day, one redeemed and one expired on it.
    template = CouponTemplateFactory(merchant=merchant, name="Ten off")
    run = CampaignRunFactory(campaign__merchant=merchant, campaign__template=template)
    for _ in range(2):
        CouponFactory(
            template=template, source=Coupon.Source.CAMPAIGN, campaign_run=run, issued_at=at(DAY, 8)
        )
    CouponFactory(
        template=template,
        source=Coupon.Source.REPURCHASE,
        issued_at=days_before(3),
        state=Coupon.State.REDEEMED,
        redeemed_at=at(DAY, 11),
    )
    CouponFactory(
        template=template,
        source=Coupon.Source.JOIN,
        issued_at=days_before(30),
        state=Coupon.State.EXPIRED,
        expires_at=at(DAY, 0),
    )
    CouponFactory(template=template, issued_at=days_before(-1))  # the next day
    # Points: 100 earned before, 30 spent, 10 expired and 50 earned on the day, 20 the day after.
    account = PointsAccountFactory(membership=member)
    entry = PointsEntryFactory
    entry(
        account=account,
        delta=100,
        remaining=40,
        kind=PointsEntry.Kind.EARN,
        created_at=days_before(2),
        expires_at=at(DAY + timedelta(days=10)),
    )
    entry(account=account, delta=-30, remaining=None, kind=PointsEntry.Kind.REDEEM, created_at=at(DAY, 10))
    entry(account=account, delta=-10, remaining=None, kind=PointsEntry.Kind.EXPIRE, created_at=at(DAY, 11))
    entry(
        account=account,
        delta=50,
        remaining=50,
        kind=PointsEntry.Kind.EARN,
        created_at=at(DAY, 12),
        expires_at=at(DAY + timedelta(days=40)),
    )
    entry(account=account, delta=20, remaining=20, kind=PointsEntry.Kind.BONUS, created_at=days_before(-1))
    return {"gold": gold, "template": template, "campaign": run.campaign, "brand": brand, "koe": koe}


def build_history(merchant, *, days: int) -> None:
    """``days`` days of snapshots and daily rows ending with ``DAY`` (numbers that move)."""
    from loyalty.dashboard.models import MerchantDailyMetrics, MerchantDailyTier
    from members.engagement.models import AccountDailyStat
    from members.models import Tier

    accounts = list(Account.objects.filter(merchant=merchant))
    tier = Tier.objects.filter(merchant=merchant).order_by("rank").first()
    stats, rows, tiers = [], [], []
    for n in range(1, days):
        day = DAY - timedelta(days=n)
        for index, account in enumerate(accounts):
            stats.append(
                AccountDailyStat(account=account, date=day, fans=100 + n + index, iron_fans=10 + n % 7)
            )
        rows.append(
            MerchantDailyMetrics(
                merchant=merchant,
                date=day,
                members=1000 - n,
                joins=n % 5,
                fans=200,
                iron_fans=20 + n % 9,
                buyers_90d=50,
                repeat_buyers_90d=10 + n % 4,
                points_outstanding=50_000 - n * 10,
                points_expiring_30d=1000 + n,
                computed_at=at(day),
            )
        )
        tiers.append(MerchantDailyTier(merchant=merchant, date=day, tier=tier, members=1000 - n))
    AccountDailyStat.objects.bulk_create(stats, ignore_conflicts=True)
    MerchantDailyMetrics.objects.bulk_create(rows)
    MerchantDailyTier.objects.bulk_create(tiers)

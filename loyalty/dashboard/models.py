"""Daily metrics per merchant: one row per merchant and UTC day, plus two breakdowns.

Every figure of a day is computed from the source tables as they stand when the job
runs (``loyalty.dashboard.jobs``); a day is rewritten whole by a rerun, so rerunning a
day or backfilling missing days is idempotent. Dashboards and the metrics API read
these rows and the per-account fan snapshots (``AccountDailyStat``) only.
"""

from decimal import Decimal

from django.db import models

from coupons.models import Campaign, Coupon, CouponTemplate
from members.models import Merchant, Tier, scoped_manager

MONEY = {"max_digits": 16, "decimal_places": 2}


class MerchantDailyMetrics(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    # Memberships active at the day's end; joined and left during the day.
    members = models.PositiveIntegerField(default=0)
    joins = models.PositiveIntegerField(default=0)
    leaves = models.PositiveIntegerField(default=0)
    # Summed over the merchant's accounts from that day's fan snapshots (a shopper who
    # follows two accounts is two fans, as the platforms count them).
    fans = models.PositiveIntegerField(default=0)
    iron_fans = models.PositiveIntegerField(default=0)
    # Distinct buyers in the 90 days ending with the day, and those of them with two or
    # more orders in that window: the repurchase rate is their ratio.
    buyers_90d = models.PositiveIntegerField(default=0)
    repeat_buyers_90d = models.PositiveIntegerField(default=0)
    # Orders paid during the day and their totals (after discounts, before refunds).
    orders = models.PositiveIntegerField(default=0)
    revenue = models.DecimalField(**MONEY, default=Decimal("0"))
    coupons_issued = models.PositiveIntegerField(default=0)
    coupons_redeemed = models.PositiveIntegerField(default=0)
    coupons_expired = models.PositiveIntegerField(default=0)
    # Points moved during the day (earned includes bonuses; spent and expired as positive numbers).
    points_earned = models.BigIntegerField(default=0)
    points_spent = models.BigIntegerField(default=0)
    points_expired = models.BigIntegerField(default=0)
    # The liability at the day's end (the sum of every ledger entry before it), and the
    # unspent points of lots that expire within the 30 days after it.
    points_outstanding = models.BigIntegerField(default=0)
    points_expiring_30d = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField()

    objects = scoped_manager("merchant")

    class Meta:
        verbose_name_plural = "merchant daily metrics"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "date"], name="merchant_daily_metrics_unique_day"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} on {self.date}"

    @property
    def iron_fan_ratio(self) -> float:
        return round(self.iron_fans / self.fans, 4) if self.fans else 0.0

    @property
    def repurchase_rate(self) -> float:
        return round(self.repeat_buyers_90d / self.buyers_90d, 4) if self.buyers_90d else 0.0


class MerchantDailyTier(models.Model):
    """Active members per tier at the day's end (``tier`` null: members without a tier)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    members = models.PositiveIntegerField(default=0)

    objects = scoped_manager("merchant")

    class Meta:
        indexes = [models.Index(fields=["merchant", "date"], name="merchant_daily_tier_day")]

    def __str__(self) -> str:
        return f"{self.merchant_id} on {self.date}: tier {self.tier_id}"


class MerchantDailyCoupons(models.Model):
    """Coupons issued, redeemed and expired during the day, per template, source and campaign."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    template = models.ForeignKey(CouponTemplate, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=12, choices=Coupon.Source.choices)
    # Set for campaign coupons (the run's campaign).
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    issued = models.PositiveIntegerField(default=0)
    redeemed = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)

    objects = scoped_manager("merchant")

    class Meta:
        verbose_name_plural = "merchant daily coupons"
        indexes = [models.Index(fields=["merchant", "date"], name="merchant_daily_coupons_day")]

    def __str__(self) -> str:
        return f"{self.merchant_id} on {self.date}: template {self.template_id} ({self.source})"

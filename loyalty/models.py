"""The loyalty program and the points ledger.

A points account's ``balance`` is always the sum of its entries' ``delta`` (the
ledger is the truth; the balance is kept beside it, in the same transaction, so
reads are one row). Positive entries are *lots*: ``remaining`` says how much of the
lot is still unspent, and spending takes the lots that expire first. A refund may
take back more than is left, which leaves the balance negative (a debt); new
earnings pay the debt first, so the sum of ``remaining`` always equals
``max(balance, 0)``.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from coupons.models import Coupon, CouponTemplate
from members.models import Membership, Merchant, Tier, scoped_manager
from storefront.models import Order, Refund


class Program(models.Model):
    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="program")
    # Points per currency unit of the order total after discounts (before the tier multiplier).
    points_per_unit = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(Decimal("0"))]
    )
    # Days a lot of earned points stays spendable; null: points never expire.
    points_expiry_days = models.PositiveIntegerField(null=True, blank=True, default=365)
    join_bonus_points = models.PositiveIntegerField(default=0)
    # Issued once, on a shopper's first join.
    join_coupon_template = models.ForeignKey(
        CouponTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Issued after a shopper's first purchase, at once or ``repurchase_delay_days`` later.
    repurchase_template = models.ForeignKey(
        CouponTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    repurchase_delay_days = models.PositiveIntegerField(default=0)
    # Off: every first-time buyer gets it, member or not. On: only if a member at that first order.
    repurchase_members_only = models.BooleanField(default=False)
    # Days a member keeps a tier they reached before the nightly review may move them down.
    tier_grace_days = models.PositiveIntegerField(default=30)
    updated_at = models.DateTimeField(auto_now=True)

    objects = scoped_manager("merchant")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(points_per_unit__gte=0), name="program_points_per_unit_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(points_expiry_days__isnull=True) | Q(points_expiry_days__gte=1),
                name="program_expiry_days_positive",
            ),
            models.CheckConstraint(
                condition=Q(tier_grace_days__lte=3650), name="program_tier_grace_days_range"
            ),
        ]

    def __str__(self) -> str:
        return f"Program of {self.merchant}"


class PointsAccount(models.Model):
    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, related_name="points_account")
    # 64-bit: a busy member's lifetime points must never stop an order from being recorded.
    balance = models.BigIntegerField(default=0)
    lifetime_earned = models.PositiveBigIntegerField(default=0)
    # Set once: the join bonus is paid on the first join only, even after leaving and rejoining.
    join_bonus_at = models.DateTimeField(null=True, blank=True)
    # The shopper's first order with the merchant (set on joining when they bought before):
    # that order issues the repurchase coupon, once.
    first_order_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = scoped_manager("membership__merchant")

    def __str__(self) -> str:
        return f"Points of {self.membership}"


class PointsEntry(models.Model):
    class Kind(models.TextChoices):
        EARN = "earn"
        REDEEM = "redeem"
        EXPIRE = "expire"
        REVERSE = "reverse"
        ADJUST = "adjust"
        BONUS = "bonus"

    # No index of its own: ``pointsentry_account_recent`` leads with it (one index less to
    # write on every entry, docs/performance.md "Redundant indexes").
    account = models.ForeignKey(
        PointsAccount, on_delete=models.CASCADE, related_name="entries", db_index=False
    )
    delta = models.BigIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # For an expiry: the lot it expired.
    lot = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Lots (delta > 0) only: how much of the lot is still unspent.
    remaining = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    objects = scoped_manager("account__membership__merchant")

    class Meta:
        verbose_name_plural = "points entries"
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="pointsentry_delta_non_zero"),
            models.CheckConstraint(
                condition=Q(kind__in=["earn", "redeem", "expire", "reverse", "adjust", "bonus"]),
                name="pointsentry_kind_valid",
            ),
            models.CheckConstraint(
                condition=(Q(delta__gt=0, remaining__gte=0, remaining__lte=F("delta")))
                | Q(delta__lt=0, remaining__isnull=True),
                name="pointsentry_lot_remaining_in_range",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-id"], name="pointsentry_account_recent"),
            # Open lots of an account, first to expire first; and the nightly expiry scan.
            models.Index(
                fields=["account", "expires_at", "id"],
                condition=Q(remaining__gt=0),
                name="pointsentry_open_lots",
            ),
            models.Index(fields=["expires_at"], condition=Q(remaining__gt=0), name="pointsentry_expiring"),
        ]

    def __str__(self) -> str:
        return f"{self.delta:+d} {self.kind}"


class PointsExpiryNotice(models.Model):
    """A lot announced to the merchant's webhooks as expiring soon (``points.expiring``):
    each lot is announced once, by the first daily run that finds it in the window."""

    lot = models.OneToOneField(PointsEntry, primary_key=True, on_delete=models.CASCADE, related_name="+")
    noticed_at = models.DateTimeField()

    objects = scoped_manager("lot__account__membership__merchant")

    def __str__(self) -> str:
        return f"Expiry of lot {self.lot_id} announced at {self.noticed_at:%Y-%m-%d}"


class TierChange(models.Model):
    """One move of a member between tiers, kept for ever: the tier history.

    ``upgrade``: an order's rolling 12-month spend reached a higher tier; ``review``: the
    nightly review moved the member one tier down; ``manual``: staff moved them. A tier
    reached with an upgrade reward carries the coupon it issued (``coupon``): the reward
    is issued once a year at most per member and tier.
    """

    class Reason(models.TextChoices):
        UPGRADE = "upgrade"
        REVIEW = "review"
        MANUAL = "manual"

    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="tier_changes", db_index=False
    )
    from_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    note = models.CharField(max_length=200, blank=True)
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()

    objects = scoped_manager("membership__merchant")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reason__in=["upgrade", "review", "manual"]), name="tierchange_reason_valid"
            ),
        ]
        indexes = [
            # A member's history, newest first; and "was this reward issued within a year".
            models.Index(fields=["membership", "-at"], name="tierchange_membership_recent"),
            models.Index(
                fields=["membership", "to_tier", "at"],
                condition=Q(coupon__isnull=False),
                name="tierchange_rewarded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_tier or '-'} -> {self.to_tier or '-'} ({self.reason})"


class TierReward(models.Model):
    """A tier's upgrade reward: a coupon of ``template`` issued when a member reaches it.

    Kept here, not on the tier: tiers belong to ``members``, which sits below coupons.
    """

    tier = models.OneToOneField(Tier, on_delete=models.CASCADE, related_name="reward")
    template = models.ForeignKey(CouponTemplate, on_delete=models.CASCADE, related_name="+")

    objects = scoped_manager("tier__merchant")

    def __str__(self) -> str:
        return f"{self.template} on reaching {self.tier}"


# The dashboard's daily tables live beside their jobs (``loyalty/dashboard``).
from loyalty.dashboard.models import (  # noqa: E402, F401
    MerchantDailyCoupons,
    MerchantDailyMetrics,
    MerchantDailyTier,
)

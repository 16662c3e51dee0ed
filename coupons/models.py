"""Coupon templates (the terms) and issued coupons (one per shopper, with a code).

A template's ``issued_count`` only moves through a guarded ``UPDATE`` (``issued_count
< stock``), so a stock is never exceeded however many issue at once; the database
checks it again (``coupontemplate_stock_not_exceeded``).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django_celery_beat.models import PeriodicTask

from members.models import Merchant, Shopper, scoped_manager
from storefront.models import MONEY, Category, Order, Product

# 32 symbols, no 0/O nor 1/I (without them an upper-case L is unambiguous): read aloud, typed on a phone.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 12  # 32**12 = 2**60 codes: unguessable, and collisions are negligible


class CouponTemplate(models.Model):
    class Kind(models.TextChoices):
        FIXED = "fixed", "Fixed amount off"
        PERCENT = "percent", "Percent off"

    class Scope(models.TextChoices):
        ALL = "all", "All products"
        CATEGORY = "category", "One category"
        PRODUCTS = "products", "Listed products"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="coupon_templates")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Money off for ``fixed``; percent off (1-100) for ``percent``.
    value = models.DecimalField(**MONEY)
    min_spend = models.DecimalField(
        **MONEY, default=0, help_text="Spend on the products in scope needed to use it."
    )
    max_discount = models.DecimalField(**MONEY, null=True, blank=True, help_text="Cap of a percent discount.")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.ALL)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    products = models.ManyToManyField(Product, blank=True, related_name="+")
    # Validity: ``valid_days`` from issue, or a fixed window ``valid_from``..``valid_until``.
    valid_days = models.PositiveIntegerField(null=True, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    per_member_limit = models.PositiveIntegerField(
        default=1, help_text="How many unused coupons of this template one shopper may hold."
    )
    stock = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many may ever be issued; empty: no limit."
    )
    issued_count = models.PositiveIntegerField(default=0, editable=False)
    points_price = models.PositiveIntegerField(
        null=True, blank=True, help_text="Points a member pays to exchange for it; empty: not exchangeable."
    )
    stackable = models.BooleanField(
        default=False, help_text="May be used with other stackable coupons in one order."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_manager("merchant")

    class Meta:
        ordering = ["merchant_id", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["fixed", "percent"]), name="coupontemplate_kind_valid"
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="coupontemplate_value_positive"),
            models.CheckConstraint(
                condition=Q(kind="fixed") | Q(value__lte=100), name="coupontemplate_percent_at_most_100"
            ),
            models.CheckConstraint(
                condition=Q(min_spend__gte=0), name="coupontemplate_min_spend_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(max_discount__isnull=True) | Q(max_discount__gt=0),
                name="coupontemplate_max_discount_positive",
            ),
            models.CheckConstraint(
                condition=Q(scope__in=["all", "category", "products"]), name="coupontemplate_scope_valid"
            ),
            models.CheckConstraint(
                condition=~Q(scope="category") | Q(category__isnull=False),
                name="coupontemplate_category_scope_has_category",
            ),
            models.CheckConstraint(
                condition=Q(valid_days__isnull=False, valid_until__isnull=True)
                | Q(valid_days__isnull=True, valid_until__isnull=False),
                name="coupontemplate_one_validity_rule",
            ),
            models.CheckConstraint(
                condition=Q(valid_days__isnull=True) | Q(valid_days__gte=1),
                name="coupontemplate_valid_days_positive",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_until__gt=F("valid_from")),
                name="coupontemplate_window_ordered",
            ),
            models.CheckConstraint(
                condition=Q(per_member_limit__gte=1), name="coupontemplate_limit_positive"
            ),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(issued_count__lte=F("stock")),
                name="coupontemplate_stock_not_exceeded",
            ),
            models.CheckConstraint(
                condition=Q(points_price__isnull=True) | Q(points_price__gte=1),
                name="coupontemplate_points_price_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Coupon(models.Model):
    class State(models.TextChoices):
        ISSUED = "issued"
        REDEEMED = "redeemed"
        EXPIRED = "expired"
        VOID = "void"

    class Source(models.TextChoices):
        JOIN = "join"
        REPURCHASE = "repurchase"
        CAMPAIGN = "campaign"
        EXCHANGE = "exchange"
        MANUAL = "manual"
        TIER = "tier"  # a tier's upgrade reward (loyalty.TierReward)

    # No index of its own: ``coupon_template_shopper`` leads with it.
    template = models.ForeignKey(
        CouponTemplate, on_delete=models.PROTECT, related_name="coupons", db_index=False
    )
    # Denormalised from the template: the merchant's coupon lists and expiry use one index.
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="coupons", db_index=False)
    code = models.CharField(max_length=32, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ISSUED)
    source = models.CharField(max_length=12, choices=Source.choices)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="coupons", db_index=False
    )
    # The campaign run that issued it: one coupon per run and shopper, so a redelivered
    # or rerun chunk issues nothing twice (null: not from a campaign; nulls never collide).
    campaign_run = models.ForeignKey(
        "CampaignRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coupons",
        db_index=False,
    )
    issued_at = models.DateTimeField()
    valid_from = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager("merchant")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["issued", "redeemed", "expired", "void"]), name="coupon_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=["join", "repurchase", "campaign", "exchange", "manual", "tier"]),
                name="coupon_source_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state="redeemed") | Q(redeemed_at__isnull=False), name="coupon_redeemed_has_time"
            ),
            models.UniqueConstraint(
                fields=["campaign_run", "shopper"], name="coupon_one_per_run_and_shopper"
            ),
        ]
        indexes = [
            # A shopper's coupons by state, soonest to expire first; the wallet's usable count.
            models.Index(fields=["shopper", "state", "expires_at"], name="coupon_shopper_state"),
            # The per-member limit: unused coupons of one template held by one shopper.
            models.Index(fields=["template", "shopper", "state"], name="coupon_template_shopper"),
            # The expiry job: issued coupons past their date.
            models.Index(fields=["expires_at"], condition=Q(state="issued"), name="coupon_issued_expiry"),
            models.Index(fields=["order"], condition=Q(order__isnull=False), name="coupon_order"),
            # The daily metrics job (loyalty.dashboard.jobs): a merchant's coupons issued,
            # redeemed and expired on one day. The last two are partial indexes that a new
            # (issued) coupon does not enter.
            models.Index(fields=["merchant", "issued_at"], name="coupon_merchant_issued"),
            models.Index(
                fields=["merchant", "redeemed_at"],
                condition=Q(state="redeemed"),
                name="coupon_merchant_redeemed",
            ),
            models.Index(
                fields=["merchant", "expires_at"],
                condition=Q(state="expired"),
                name="coupon_merchant_expired",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class ScheduledCoupon(models.Model):
    """A coupon promised for later (a repurchase coupon with a delay); the beat job issues it."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey(CouponTemplate, on_delete=models.CASCADE, related_name="scheduled")
    source = models.CharField(max_length=12, choices=Coupon.Source.choices)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    due_at = models.DateTimeField()
    # The shopper must still be an active member when it is due (a members-only program's).
    members_only = models.BooleanField(default=True)
    # Set when handled: the coupon issued, or why none was (stock out, limit, left).
    handled_at = models.DateTimeField(null=True, blank=True)
    coupon = models.OneToOneField(Coupon, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_manager("merchant")

    class Meta:
        constraints = [
            # One delayed repurchase coupon per member and merchant, however often it is asked.
            models.UniqueConstraint(
                fields=["merchant", "shopper", "source"],
                condition=Q(source="repurchase"),
                name="scheduledcoupon_one_repurchase",
            ),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(handled_at__isnull=True), name="scheduledcoupon_due")
        ]

    def __str__(self) -> str:
        return f"{self.template} for {self.shopper} at {self.due_at:%Y-%m-%d}"


class Campaign(models.Model):
    """A coupon sent to an audience: now (run now), once at ``run_at``, or on a cron schedule.

    The schedule lives in django-celery-beat (``periodic_task``), kept in step by the
    campaign services; merchants never edit beat's tables.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=100)
    template = models.ForeignKey(CouponTemplate, on_delete=models.PROTECT, related_name="campaigns")
    # Audience keys, ANDed (coupons.audiences): {"iron_fans": true, "lapsed_days": 30}.
    audience = models.JSONField(default=dict)
    # Five-field cron ("0 10 * * 1": Mondays 10:00) in ``timezone``; or one ``run_at``; or neither.
    schedule = models.CharField(max_length=100, blank=True)
    run_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default=settings.TIME_ZONE)
    active = models.BooleanField(default=True, help_text="Off: the schedule is paused.")
    periodic_task = models.OneToOneField(
        PeriodicTask, null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = scoped_manager("merchant")

    class Meta:
        ordering = ["merchant_id", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(schedule="") | Q(run_at__isnull=True), name="campaign_cron_or_run_at"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignRun(models.Model):
    """One issuance of a campaign. Its counters move as each chunk commits; it is done
    when the last chunk's counter update finds ``chunks_done == chunks_total``."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="runs", db_index=False)
    # Denormalised from the campaign: tenancy checks and the admin's list use one index.
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    audience_size = models.PositiveIntegerField(default=0)
    issued = models.PositiveIntegerField(default=0)
    # skipped == skipped_limit + skipped_stock + those the template no longer allowed.
    skipped = models.PositiveIntegerField(default=0)
    skipped_limit = models.PositiveIntegerField(default=0)
    skipped_stock = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    objects = scoped_manager("merchant")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed", "cancelled"]),
                name="campaignrun_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(chunks_done__lte=F("chunks_total")), name="campaignrun_chunks_in_range"
            ),
            # One run at a time per campaign: a second "run now" is a 409, not a double issue.
            models.UniqueConstraint(
                fields=["campaign"],
                condition=Q(status__in=["queued", "running"]),
                name="campaignrun_one_unfinished",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "-id"], name="campaignrun_campaign_recent")]

    def __str__(self) -> str:
        return f"{self.campaign} run {self.pk}"

    @property
    def progress(self) -> float:
        """Done share, 0..1 (a run with no chunk is complete when done)."""
        if self.chunks_total:
            return self.chunks_done / self.chunks_total
        return 1.0 if self.status == self.Status.DONE else 0.0


class CampaignRunChunk(models.Model):
    """A primary-key range of the run's audience, issued by one task in one transaction.

    ``done_at`` is its claim: set by a conditional ``UPDATE`` in the chunk's transaction,
    so a redelivered task finds it taken and does nothing.
    """

    run = models.ForeignKey(CampaignRun, on_delete=models.CASCADE, related_name="chunks", db_index=False)
    shopper_lo = models.BigIntegerField()
    shopper_hi = models.BigIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)
    issued = models.PositiveIntegerField(default=0)
    skipped_limit = models.PositiveIntegerField(default=0)
    skipped_stock = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "shopper_lo"], name="campaignrunchunk_one_per_range"),
            models.CheckConstraint(
                condition=Q(shopper_lo__lte=F("shopper_hi")), name="campaignrunchunk_range_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run} shoppers {self.shopper_lo}-{self.shopper_hi}"

"""Catalog, orders and refunds, and what the pipeline derives from them.

Orders are written by the purchase pipeline (``loyalty.services.purchases``); this app
owns the tables and the reads over them.
"""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from members.models import SLUG_VALIDATOR, Account, Merchant, Shopper, scoped_manager

MONEY = {"max_digits": 12, "decimal_places": 2}


class Category(models.Model):
    """A merchant's own category. Interests that span merchants (preferences, the public
    pool) compare slugs, so "tea" at two merchants is one interest, while neither
    merchant's staff ever sees the other's names in its forms."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="categories", db_index=False
    )
    slug = models.SlugField(max_length=50, validators=[SLUG_VALIDATOR])
    name = models.CharField(max_length=100)

    objects = scoped_manager("merchant")

    class Meta:
        ordering = ["merchant_id", "slug"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "slug"], name="category_unique_merchant_slug"),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="products", db_index=False)
    sku = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    tags = models.JSONField(default=list, blank=True)
    price = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0"))])
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = scoped_manager("merchant")

    class Meta:
        ordering = ["merchant_id", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "sku"], name="product_unique_merchant_sku"),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_non_negative"),
        ]
        indexes = [models.Index(fields=["merchant", "-published_at"], name="product_merchant_published")]

    def __str__(self) -> str:
        return f"{self.title} ({self.sku})"


class Order(models.Model):
    class Status(models.TextChoices):
        PAID = "paid"
        PARTIALLY_REFUNDED = "partially_refunded"
        REFUNDED = "refunded"

    # No index of its own: ``order_unique_merchant_external_id`` leads with it.
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="orders", db_index=False)
    shopper = models.ForeignKey(Shopper, on_delete=models.PROTECT, related_name="orders")
    external_id = models.CharField(max_length=100)
    via_account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    # The account the purchase counts for in the fan scores: ``via_account`` when the
    # merchant named one, else the brand account (null: the merchant had none).
    attributed_account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subtotal = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY, default=Decimal("0"))
    total = models.DecimalField(**MONEY)
    refunded_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    points_earned = models.BigIntegerField(default=0)
    points_reversed = models.BigIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PAID)
    paid_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Idempotency: the hash of the normalised request and the answer given to it.
    payload_hash = models.CharField(max_length=64, editable=False)
    response = models.JSONField(editable=False)
    # When the order's lines were folded into the shopper's preferences (a job claims
    # the orders still null, ``storefront.services.preferences.preferences_fold_orders``).
    preferences_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = scoped_manager("merchant")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "external_id"], name="order_unique_merchant_external_id"
            ),
            models.CheckConstraint(
                condition=Q(total=F("subtotal") - F("discount")), name="order_total_consistent"
            ),
            models.CheckConstraint(
                condition=Q(discount__gte=0, total__gte=0), name="order_amounts_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("total")),
                name="order_refund_within_total",
            ),
        ]
        indexes = [
            # Rolling 12-month spend, first purchase and lapsed buyers of a merchant.
            models.Index(fields=["merchant", "shopper", "paid_at"], name="order_merchant_shopper_paid"),
            # The merchant's order list, newest paid first (GET /merchant/orders).
            models.Index(fields=["merchant", "-paid_at", "-id"], name="order_merchant_recent"),
            # The orders whose preferences are still to fold in.
            models.Index(
                fields=["id"], condition=Q(preferences_at__isnull=True), name="order_preferences_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant.slug}/{self.external_id}"


class OrderLine(models.Model):
    # No index of their own: ``orderline_unique_product`` leads with the order,
    # ``orderline_product_order`` with the product.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines", db_index=False)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    refunded_quantity = models.PositiveIntegerField(default=0)

    objects = scoped_manager("order__merchant")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="orderline_unique_product"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="orderline_price_non_negative"),
            models.CheckConstraint(
                condition=Q(refunded_quantity__lte=F("quantity")), name="orderline_refund_within_quantity"
            ),
        ]
        indexes = [models.Index(fields=["product", "order"], name="orderline_product_order")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product.title}"

    @property
    def line_total(self) -> Decimal:
        return self.quantity * self.unit_price


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds", db_index=False)
    external_id = models.CharField(max_length=100)
    amount = models.DecimalField(**MONEY)
    lines = models.JSONField()  # [{"sku", "quantity"}], as refunded
    created_at = models.DateTimeField(auto_now_add=True)
    payload_hash = models.CharField(max_length=64, editable=False)
    response = models.JSONField(editable=False)

    objects = scoped_manager("order__merchant")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], name="refund_unique_order_external_id"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="refund_amount_non_negative"),
        ]

    def __str__(self) -> str:
        return f"refund {self.external_id}"


class PurchaseStat(models.Model):
    """One row per shopper and product bought: "My frequently purchased goods"."""

    # No index of its own: ``purchasestat_unique_shopper_product`` leads with it.
    shopper = models.ForeignKey(
        Shopper, on_delete=models.CASCADE, related_name="purchase_stats", db_index=False
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="purchase_stats")
    # Denormalised from the product so a shopper's list filters by merchant on one index.
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    times_purchased = models.PositiveIntegerField(default=0)
    quantity = models.PositiveIntegerField(default=0)
    first_purchased_at = models.DateTimeField()
    last_purchased_at = models.DateTimeField()

    objects = scoped_manager("merchant")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shopper", "product"], name="purchasestat_unique_shopper_product"
            ),
        ]
        indexes = [
            models.Index(
                fields=["shopper", "-times_purchased", "-last_purchased_at", "-id"],
                name="purchasestat_frequent",
            ),
            models.Index(
                fields=["shopper", "merchant", "-times_purchased", "-last_purchased_at", "-id"],
                name="purchasestat_frequent_merchant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shopper_id} bought {self.product_id} x{self.times_purchased}"


class Preference(models.Model):
    """A shopper's decayed affinity for a category or a tag (``storefront.affinity``).

    Keyed by slug text, not by a category row: one interest spans merchants. ``weight``
    is the value as of ``updated_at``; it halves every ``affinity.HALF_LIFE`` after it.
    """

    class Kind(models.TextChoices):
        CATEGORY = "category"
        TAG = "tag"

    # No index of its own: ``preference_unique_shopper_slug`` leads with it.
    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="preferences", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    slug = models.CharField(max_length=50)
    weight = models.FloatField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shopper", "kind", "slug"], name="preference_unique_shopper_slug"
            ),
            models.CheckConstraint(condition=Q(weight__gte=0), name="preference_weight_non_negative"),
            models.CheckConstraint(condition=Q(kind__in=["category", "tag"]), name="preference_kind_valid"),
        ]
        indexes = [
            # The rollout audiences: who likes this category or tag.
            models.Index(fields=["kind", "slug", "shopper"], name="preference_slug_shopper"),
        ]

    def __str__(self) -> str:
        return f"{self.shopper_id} likes {self.kind} {self.slug}"


class RolloutPolicy(models.Model):
    """How a merchant's new products are pushed, fans first (``storefront.services.rollouts``).

    Kept here, beside the rollouts it governs; the program API shows it as ``rollout``.
    """

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="rollout_policy")
    # How long a stage runs before its open rate is judged.
    stage_hours = models.PositiveIntegerField(default=24)
    # Opened / delivered at or above this moves the rollout on; below it, it is held.
    open_rate_to_advance = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.200"))
    # Pushes a shopper receives per calendar day (settings' TIME_ZONE), all merchants counted.
    max_pushes_per_day = models.PositiveSmallIntegerField(default=3)

    objects = scoped_manager("merchant")

    class Meta:
        verbose_name_plural = "rollout policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(open_rate_to_advance__gte=0, open_rate_to_advance__lte=1),
                name="rolloutpolicy_rate_between_0_and_1",
            ),
            models.CheckConstraint(
                condition=Q(stage_hours__gte=1), name="rolloutpolicy_stage_hours_positive"
            ),
            models.CheckConstraint(condition=Q(max_pushes_per_day__gte=1), name="rolloutpolicy_cap_positive"),
        ]

    def __str__(self) -> str:
        return f"Rollout policy of {self.merchant}"


class PushRollout(models.Model):
    """A product pushed fans first: iron fans, then followers, then the public pool.

    One per product: publishing again after unpublishing does not push it again.
    """

    class Stage(models.TextChoices):
        IRON_FANS = "iron_fans"
        FOLLOWERS = "followers"
        PUBLIC = "public"
        DONE = "done"
        HELD = "held"

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="rollout")
    # Denormalised from the product: the admin and the API scope by it on one column.
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.IRON_FANS)
    stage_started_at = models.DateTimeField()
    # Set when every chunk of the stage's messages is written; until then the beat job
    # resumes the send (a crashed worker loses nothing, a rerun inserts nothing twice).
    stage_sent_at = models.DateTimeField(null=True, blank=True)
    # The stage that was running when the rollout was held (advancing by hand resumes after it).
    held_stage = models.CharField(max_length=10, choices=Stage.choices, blank=True, default="")
    held_reason = models.CharField(max_length=200, blank=True, default="")
    # Totals over all stages; per stage they are counted from the messages.
    sent = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_manager("merchant")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(stage__in=["iron_fans", "followers", "public", "done", "held"]),
                name="pushrollout_stage_valid",
            ),
        ]
        indexes = [
            # The beat job: running rollouts whose stage window may be over.
            models.Index(
                fields=["stage_started_at"],
                condition=Q(stage__in=["iron_fans", "followers", "public"]),
                name="pushrollout_running",
            ),
        ]

    def __str__(self) -> str:
        return f"Rollout of {self.product_id} ({self.stage})"


class InboxMessage(models.Model):
    """A product pushed to a shopper. ``delivered_at`` is null while the fatigue cap defers it."""

    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="inbox", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    rollout = models.ForeignKey(
        PushRollout, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    stage = models.CharField(max_length=10, choices=PushRollout.Stage.choices)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager("rollout__merchant")

    class Meta:
        constraints = [
            # Never the same product twice; a stage run twice inserts nothing the second time.
            models.UniqueConstraint(
                fields=["shopper", "product"], name="inboxmessage_unique_shopper_product"
            ),
        ]
        indexes = [
            # The shopper's inbox, newest first, and today's count for the fatigue cap.
            models.Index(fields=["shopper", "-delivered_at", "-id"], name="inbox_shopper_delivered"),
            # Deferred messages, oldest first.
            models.Index(
                fields=["shopper", "created_at", "id"],
                condition=Q(delivered_at__isnull=True),
                name="inbox_deferred",
            ),
            # Sent and opened per stage of a rollout.
            models.Index(fields=["rollout", "stage"], name="inbox_rollout_stage"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} to {self.shopper_id} ({self.stage})"

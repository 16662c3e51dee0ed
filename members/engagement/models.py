"""Engagement events, the scores of shoppers who engage without following, the fan
policy of a merchant and the daily fan statistics of an account.

Imported by ``members.models`` so that Django registers them with the members app.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from members.models import Account, Merchant, Shopper, scoped_manager


class EngagementKind(models.TextChoices):
    VIEW = "view"
    LIKE = "like"
    COMMENT = "comment"
    SHARE = "share"
    LIVE_WATCH = "live_watch"  # quantity: minutes watched
    PURCHASE = "purchase"


class EngagementEvent(models.Model):
    """One interaction of a shopper with an account: append-only.

    On PostgreSQL the table is partitioned by month of ``occurred_at`` (migration
    0005): its real primary key is ``(id, occurred_at)`` and old months are dropped
    whole. Django addresses rows by ``id`` alone, which the sequence keeps unique.
    ``source_id`` is the platform's event id; a redelivery of the same event (same
    account, id and time) is stored once. The unique key includes ``occurred_at``
    because every unique key of a partitioned table must hold the partition key.
    """

    # No foreign-key constraints in the database: the log is written only by
    # ``engagement_store`` with ids it has just resolved, and the constraints' checks
    # cost as much as the insert itself (docs/iron-fans.md). Deleting an account
    # deletes its events (through ``engagement_pair_time``); a deleted shopper's
    # events are left to age out with the retention window.
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    shopper = models.ForeignKey(
        Shopper, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    kind = models.CharField(max_length=10, choices=EngagementKind.choices)
    quantity = models.PositiveIntegerField(default=1)
    # The merchant's product code the video or card showed (no foreign key: storefront sits above).
    sku = models.CharField(max_length=64, blank=True, default="")
    source_id = models.CharField(max_length=128, null=True, blank=True)
    occurred_at = models.DateTimeField()

    objects = scoped_manager("account__merchant")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "source_id", "occurred_at"], name="engagement_unique_source_id"
            ),
            models.CheckConstraint(condition=Q(kind__in=EngagementKind.values), name="engagement_kind_valid"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="engagement_quantity_positive"),
        ]
        indexes = [
            # A fan's active days in the last 30 (min_active_days) and an account's events.
            # The only index beside the keys: each one costs every insert.
            models.Index(fields=["account", "shopper", "occurred_at"], name="engagement_pair_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} x{self.quantity} @{self.account_id} by {self.shopper_id}"


class EngagementScore(models.Model):
    """The decayed score of a shopper who engages with an account they do not follow.

    Such a shopper is no fan; the score waits here, decaying, and moves onto the
    follow when they follow (and back here when they unfollow). See docs/iron-fans.md.
    """

    # No index of its own: ``engagement_score_unique_pair`` leads with it.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(default=0.0)
    score_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager("account__merchant")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "shopper"], name="engagement_score_unique_pair"),
            models.CheckConstraint(condition=Q(score__gte=0), name="engagement_score_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.shopper_id} waits on @{self.account_id} with {self.score:.1f}"


class FanPolicy(models.Model):
    """How a merchant turns engagement into iron fans. Defaults: members.engagement.scoring."""

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="fan_policy")
    weight_view = models.FloatField(default=1.0, validators=[MinValueValidator(0), MaxValueValidator(1000)])
    weight_like = models.FloatField(default=2.0, validators=[MinValueValidator(0), MaxValueValidator(1000)])
    weight_comment = models.FloatField(
        default=4.0, validators=[MinValueValidator(0), MaxValueValidator(1000)]
    )
    weight_share = models.FloatField(default=6.0, validators=[MinValueValidator(0), MaxValueValidator(1000)])
    # Per minute watched.
    weight_live_watch = models.FloatField(
        default=0.5, validators=[MinValueValidator(0), MaxValueValidator(1000)]
    )
    weight_purchase = models.FloatField(
        default=20.0, validators=[MinValueValidator(0), MaxValueValidator(1000)]
    )
    half_life_days = models.FloatField(
        default=14.0, validators=[MinValueValidator(0.25), MaxValueValidator(365)]
    )
    promote_at = models.FloatField(default=40.0, validators=[MinValueValidator(0.01)])
    # Below ``promote_at``: a fan between the two keeps the status they have (hysteresis).
    demote_below = models.FloatField(default=25.0, validators=[MinValueValidator(0)])
    # Distinct days with engagement in the last 30 an iron fan also needs; 0 turns it off.
    min_active_days = models.PositiveSmallIntegerField(default=3, validators=[MaxValueValidator(30)])
    updated_at = models.DateTimeField(auto_now=True)

    objects = scoped_manager("merchant")

    class Meta:
        verbose_name_plural = "fan policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(demote_below__lt=F("promote_at")), name="fan_policy_hysteresis"
            ),
            models.CheckConstraint(condition=Q(half_life_days__gt=0), name="fan_policy_half_life_positive"),
            models.CheckConstraint(
                condition=Q(min_active_days__lte=30), name="fan_policy_active_days_in_window"
            ),
        ]

    def __str__(self) -> str:
        return f"Fan policy of {self.merchant}"

    def clean(self):
        # The admin's form: the same rule as the API's, on the field at fault.
        if (
            self.demote_below is not None
            and self.promote_at is not None
            and self.demote_below >= self.promote_at
        ):
            raise ValidationError(
                {"demote_below": "Must be below promote_at: a fan between the two keeps their status."},
                code="invalid_fan_policy",
            )

    def weight(self, kind: str) -> float:
        return getattr(self, f"weight_{kind}")

    @property
    def weights(self) -> dict[str, float]:
        return {kind: self.weight(kind) for kind in EngagementKind.values}


class AccountDailyStat(models.Model):
    """An account's fans on one (UTC) day: written by the snapshot and recompute jobs."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="daily_stats", db_index=False)
    date = models.DateField()
    fans = models.PositiveIntegerField(default=0)
    iron_fans = models.PositiveIntegerField(default=0)
    # Follows the recompute job promoted and demoted that day.
    promoted = models.PositiveIntegerField(default=0)
    demoted = models.PositiveIntegerField(default=0)
    snapshot_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager("account__merchant")

    class Meta:
        ordering = ["account_id", "date"]
        constraints = [
            models.UniqueConstraint(fields=["account", "date"], name="account_daily_stat_unique_day"),
        ]

    def __str__(self) -> str:
        return f"@{self.account_id} on {self.date}"

    @property
    def iron_fan_ratio(self) -> float:
        return iron_fan_ratio(fans=self.fans, iron_fans=self.iron_fans)


def iron_fan_ratio(*, fans: int, iron_fans: int) -> float:
    """Iron fans per fan, 4 decimals; 0 for an account without fans."""
    return round(iron_fans / fans, 4) if fans else 0.0

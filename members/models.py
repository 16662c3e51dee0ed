"""Merchants, their staff and accounts, shoppers, fans (follows) and memberships.

Every merchant-owned model has a manager with ``for_merchant(merchant)``: the one
place that says how a row reaches its merchant. The admin's tenant scoping and the
API's selectors both go through it.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

# ``\Z``, not ``$``: ``$`` also matches before a trailing newline, so "acme\n" would pass.
HANDLE_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9_.-]{1,49}\Z",
    "Handles are 2-50 characters: lowercase letters, digits, '.', '_' or '-'.",
    code="invalid_handle",
)
SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{1,49}\Z",
    "Slugs are 2-50 characters: lowercase letters, digits or '-'.",
    code="invalid_slug",
)


class MerchantScopedQuerySet(models.QuerySet):
    """Rows that belong to one merchant through ``merchant_path``."""

    merchant_path = "merchant"

    def for_merchant(self, merchant):
        # ``Merchant`` scopes by its own primary key, which takes the id, not an instance.
        value = merchant.pk if self.merchant_path == "pk" else merchant
        return self.filter(**{self.merchant_path: value})


def scoped_manager(path: str) -> models.Manager:
    queryset_class = type(
        f"MerchantScopedQuerySet_{path.replace('__', '_')}",
        (MerchantScopedQuerySet,),
        {"merchant_path": path},
    )
    return queryset_class.as_manager()


class Merchant(models.Model):
    slug = models.SlugField(max_length=50, unique=True, validators=[SLUG_VALIDATOR])
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    # Membership numbers are handed out from this counter under the merchant's row lock.
    last_member_number = models.PositiveIntegerField(default=0, editable=False)
    # The event types some active webhook endpoint of the merchant wants (kept by
    # ``members.webhooks.endpoints``): a hot path such as an order reads it from the
    # merchant it holds and writes no event, at no statement, when nobody listens.
    webhook_events = models.JSONField(default=list, blank=True, editable=False)

    objects = scoped_manager("pk")

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class MerchantStaff(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="merchant_staff"
    )
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="staff")

    objects = scoped_manager("merchant")

    class Meta:
        verbose_name = "merchant staff member"
        verbose_name_plural = "merchant staff"

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant.slug}"


class MerchantAPIKeyManager(BaseAPIKeyManager.from_queryset(MerchantScopedQuerySet)):
    def get_usable_keys(self):
        return super().get_usable_keys().select_related("merchant")


class MerchantAPIKey(AbstractAPIKey):
    """A shop system's server-to-server key: hashed at rest, one merchant each."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")

    objects = MerchantAPIKeyManager()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "merchant API key"
        verbose_name_plural = "merchant API keys"


class ShopperQuerySet(models.QuerySet):
    def for_merchant(self, merchant):
        """Shoppers a merchant has a relation with: its members and its fans.

        Shoppers belong to no merchant; staff see those who joined or follow them.
        """
        return self.filter(
            Exists(Membership.objects.filter(shopper=OuterRef("pk"), merchant=merchant))
            | Exists(Follow.objects.filter(shopper=OuterRef("pk"), account__merchant=merchant))
        )


class Shopper(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="shopper"
    )
    # The platform's user id: the key the merchant API and the shopper's login use.
    external_id = models.CharField(max_length=150, unique=True)
    display_name = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ShopperQuerySet.as_manager()

    def __str__(self) -> str:
        return self.display_name or self.external_id


class Account(models.Model):
    class Kind(models.TextChoices):
        BRAND = "brand", "Brand account"
        KOE = "koe", "Employee account (KOE)"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="accounts")
    handle = models.CharField(max_length=50, unique=True, validators=[HANDLE_VALIDATOR])
    kind = models.CharField(max_length=10, choices=Kind.choices)
    display_name = models.CharField(max_length=150)
    staff = models.ForeignKey(
        MerchantStaff, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = scoped_manager("merchant")

    class Meta:
        ordering = ["merchant_id", "handle"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["brand", "koe"]), name="account_kind_valid"),
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(kind="brand"), name="account_one_brand_per_merchant"
            ),
        ]

    def __str__(self) -> str:
        return f"@{self.handle}"


class Follow(models.Model):
    """A fan: a shopper following one account, with their decayed engagement score."""

    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="follows", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="follows", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    score = models.FloatField(default=0.0)
    score_at = models.DateTimeField(null=True, blank=True)
    iron_fan = models.BooleanField(default=False)
    iron_fan_since = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager("account__merchant")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shopper", "account"], name="follow_unique_shopper_account"),
            models.CheckConstraint(condition=Q(score__gte=0), name="follow_score_non_negative"),
        ]
        indexes = [
            # The fan list of an account and its iron-fan ratio.
            models.Index(fields=["account", "iron_fan"], name="follow_account_iron_fan"),
            # A shopper's follows, newest first.
            models.Index(fields=["shopper", "-id"], name="follow_shopper_recent"),
            # A merchant's iron fans: the member list's flag and filter.
            models.Index(fields=["account", "shopper"], condition=Q(iron_fan=True), name="follow_iron_fans"),
        ]

    def __str__(self) -> str:
        return f"{self.shopper} follows {self.account}"


class AccountFanCount(models.Model):
    """An account's fans and iron fans, counted as they change (``members.fan_counts``).

    The account list reads these instead of counting follows on every request (30 accounts
    and 50k follows were 10 ms of counting; a merchant with a million fans, a second). A
    row of its own, not columns of ``Account``: an account saved from the admin writes
    every column it read, and would put back counts that had moved since.
    """

    account = models.OneToOneField(
        Account, primary_key=True, on_delete=models.CASCADE, related_name="fan_count"
    )
    fans = models.PositiveIntegerField(default=0)
    iron_fans = models.PositiveIntegerField(default=0)

    objects = scoped_manager("account__merchant")

    class Meta:
        constraints = [
            # Both are non-negative by their type's own check.
            models.CheckConstraint(
                condition=Q(iron_fans__lte=models.F("fans")), name="account_fan_count_iron_fans_within_fans"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.fans} fans, {self.iron_fans} iron fans"


class Tier(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="tiers", db_index=False)
    name = models.CharField(max_length=50)
    rank = models.PositiveSmallIntegerField()
    min_spend_12m = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))]
    )
    earn_multiplier = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"))

    objects = scoped_manager("merchant")

    class Meta:
        ordering = ["merchant_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="tier_unique_name"),
            models.UniqueConstraint(fields=["merchant", "rank"], name="tier_unique_rank"),
            models.CheckConstraint(condition=Q(min_spend_12m__gte=0), name="tier_min_spend_non_negative"),
            models.CheckConstraint(condition=Q(earn_multiplier__gt=0), name="tier_multiplier_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        LEFT = "left"

    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    number = models.PositiveIntegerField(editable=False)
    tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="memberships"
    )
    # When the member reached their current tier (joined in it, climbed or fell to it):
    # the nightly tier review keeps them there for the program's grace period.
    tier_since = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # The start of the current membership: a rejoin after leaving starts it again.
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    # Denormalised: the shopper is an iron fan of at least one of the merchant's accounts
    # (``Follow.iron_fan``). Kept in step by ``members.iron_fan_flags`` from every write
    # of that status: the hourly recompute, an unfollow, a join (docs/performance.md,
    # "Member list"). The member list filters and pages on it by one partial index.
    iron_fan = models.BooleanField(default=False, db_default=False, editable=False)

    objects = scoped_manager("merchant")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shopper", "merchant"], name="membership_unique_shopper_merchant"
            ),
            models.UniqueConstraint(fields=["merchant", "number"], name="membership_unique_number"),
            models.CheckConstraint(
                condition=Q(status__in=["active", "left"]), name="membership_status_valid"
            ),
        ]
        indexes = [
            # The merchant's member list, newest first, filtered by status and tier.
            models.Index(fields=["merchant", "status", "-id"], name="membership_merchant_recent"),
            # The member list filtered by tier, newest first, without a sort.
            models.Index(
                fields=["merchant", "tier", "-id"],
                condition=Q(status="active"),
                name="membership_active_tier",
            ),
            # The member list's ?iron_fan=true, newest first: only the iron fans' rows.
            models.Index(
                fields=["merchant", "-id"],
                condition=Q(status="active", iron_fan=True),
                name="membership_active_iron_fans",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.shopper} @ {self.merchant.slug}"


class ShopperClaim(models.Model):
    """A one-time code that proves a platform id is the registering shopper's.

    A merchant's order or event creates the shopper record of a platform id nobody has
    registered yet; registering that id then needs this code, which the merchant's
    system asks for and gives the shopper out of band. Only the code's keyed hash is
    kept; it expires in minutes and allows a few attempts. One live code per shopper
    and merchant: asking again replaces it.
    """

    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="claims", db_index=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    objects = scoped_manager("merchant")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shopper", "merchant"], name="shopperclaim_unique_shopper_merchant"
            ),
        ]

    def __str__(self) -> str:
        return f"claim of {self.shopper_id} by {self.merchant_id}"


# Engagement and iron-fan models live in their own module; importing them here
# registers them with the members app.
from members.engagement.models import (  # noqa: E402, F401
    AccountDailyStat,
    EngagementEvent,
    EngagementKind,
    EngagementScore,
    FanPolicy,
)
from members.webhooks.models import (  # noqa: E402, F401
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

"""Reads for members: each returns a queryset shaped for one screen or endpoint."""

from django.db.models import QuerySet, Subquery

from members import errors
from members.models import Account, Follow, Membership, Merchant, Shopper, Tier


def merchant_get(*, slug: str) -> Merchant:
    merchant = Merchant.objects.filter(slug=slug).first()
    if merchant is None:
        raise errors.MerchantNotFound(attr="merchant")
    return merchant


def account_list(*, merchant: Merchant) -> QuerySet[Account]:
    return Account.objects.for_merchant(merchant)


def tier_list(*, merchant: Merchant) -> QuerySet[Tier]:
    return Tier.objects.filter(merchant=merchant)


def follow_list(*, shopper: Shopper) -> QuerySet[Follow]:
    return Follow.objects.filter(shopper=shopper).select_related("account__merchant")


def follows_of_merchant(*, merchant: Merchant) -> QuerySet[Follow]:
    return Follow.objects.filter(account__merchant=merchant)


def iron_fan_shopper_ids(*, merchant: Merchant) -> QuerySet:
    """Shoppers who are iron fans of any of the merchant's accounts (``follow_iron_fans`` index)."""
    return Follow.objects.filter(account__merchant=merchant, iron_fan=True).values("shopper_id")


def member_list(*, merchant: Merchant, iron_fan: bool | None = None, tier: str | None = None) -> QuerySet:
    """The merchant's active members with their tier, on the membership's own iron-fan flag.

    A cursor page (newest first, never counted) read in order from one index:
    ``membership_merchant_recent``, ``membership_active_tier`` for ``tier``, and the
    partial ``membership_active_iron_fans`` for ``iron_fan=True`` (docs/performance.md).
    """
    members = (
        Membership.objects.for_merchant(merchant)
        .filter(status=Membership.Status.ACTIVE)
        .select_related("shopper", "tier")
    )
    if tier is not None:
        tier_obj = Tier.objects.filter(merchant=merchant, name=tier).first()
        if tier_obj is None:
            raise errors.TierNotFound(attr="tier")
        members = members.filter(tier=tier_obj)
    if iron_fan is not None:
        members = members.filter(iron_fan=iron_fan)
    return members


def tier_entry(*, merchant: Merchant) -> Tier | None:
    """The tier a new member starts in: the highest one that needs no spend."""
    return Tier.objects.filter(merchant=merchant, min_spend_12m=0).order_by("-rank").first()


def tier_top_rank(*, merchant) -> Subquery:
    """For a row: the highest tier rank of its merchant (``merchant``: an OuterRef); null
    without tiers. The purchase pipeline skips the upgrade for a member already there."""
    return Subquery(Tier.objects.filter(merchant=merchant).order_by("-rank").values("rank")[:1])

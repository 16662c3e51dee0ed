"""Reads for members: each returns a queryset shaped for one screen or endpoint."""

from django.db.models import Exists, OuterRef, QuerySet

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


def member_is_iron_fan() -> Exists:
    """For a membership row: is the shopper an iron fan of any of the merchant's accounts?"""
    return Exists(
        Follow.objects.filter(
            shopper=OuterRef("shopper_id"), account__merchant=OuterRef("merchant_id"), iron_fan=True
        )
    )


def iron_fan_shopper_ids(*, merchant: Merchant) -> QuerySet:
    """Shoppers who are iron fans of any of the merchant's accounts (``follow_iron_fans`` index)."""
    return Follow.objects.filter(account__merchant=merchant, iron_fan=True).values("shopper_id")


def mark_iron_fans(*, merchant: Merchant, memberships: list[Membership]) -> None:
    """Set ``is_iron_fan`` on a page of memberships with one query for the page.

    A correlated EXISTS per row looks cheap, but PostgreSQL turns it into a scan of
    every iron-fan follow of the table once the list is long (docs/performance.md).
    """
    shopper_ids = {m.shopper_id for m in memberships}
    fans = (
        set(
            iron_fan_shopper_ids(merchant=merchant)
            .filter(shopper_id__in=shopper_ids)
            .values_list("shopper_id", flat=True)
        )
        if shopper_ids
        else set()
    )
    for membership in memberships:
        membership.is_iron_fan = membership.shopper_id in fans


def member_list(*, merchant: Merchant, iron_fan: bool | None = None, tier: str | None = None) -> QuerySet:
    """The merchant's active members with their tier; ``mark_iron_fans`` flags a page."""
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
    if iron_fan is True:
        members = members.filter(shopper_id__in=iron_fan_shopper_ids(merchant=merchant))
    elif iron_fan is False:
        members = members.exclude(shopper_id__in=iron_fan_shopper_ids(merchant=merchant))
    return members


def tier_entry(*, merchant: Merchant) -> Tier | None:
    """The tier a new member starts in: the highest one that needs no spend."""
    return Tier.objects.filter(merchant=merchant, min_spend_12m=0).order_by("-rank").first()

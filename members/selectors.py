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


def follow_list(*, shopper: Shopper) -> QuerySet[Follow]:
    return Follow.objects.filter(shopper=shopper).select_related("account__merchant")


def member_is_iron_fan() -> Exists:
    """For a membership row: is the shopper an iron fan of any of the merchant's accounts?"""
    return Exists(
        Follow.objects.filter(
            shopper=OuterRef("shopper_id"), account__merchant=OuterRef("merchant_id"), iron_fan=True
        )
    )


def member_list(*, merchant: Merchant, iron_fan: bool | None = None, tier: str | None = None) -> QuerySet:
    """The merchant's active members with their tier and iron-fan flag."""
    members = (
        Membership.objects.for_merchant(merchant)
        .filter(status=Membership.Status.ACTIVE)
        .select_related("shopper", "tier")
        .annotate(is_iron_fan=member_is_iron_fan())
    )
    if tier is not None:
        tier_obj = Tier.objects.filter(merchant=merchant, name=tier).first()
        if tier_obj is None:
            raise errors.TierNotFound(attr="tier")
        members = members.filter(tier=tier_obj)
    if iron_fan is not None:
        members = members.filter(is_iron_fan=iron_fan)
    return members

"""Reads for members: each returns a queryset shaped for one screen or endpoint."""

from functools import cache

from django.db import connection
from django.db.models import QuerySet, Subquery

from members import errors
from members.models import Account, Follow, Merchant, Shopper, Tier


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


def tier_id_named(*, merchant: Merchant, name: str) -> int:
    """The id of the merchant's tier called ``name`` (``tier_unique_name``), or a
    ``TierNotFound`` on the ``tier`` filter. Written out: the member list reads it on every
    ``?tier=`` page, and the ORM's compile cost more than the statement."""
    with connection.cursor() as cursor:
        cursor.execute(_tier_id_sql(), [merchant.pk, name])
        row = cursor.fetchone()
    if row is None:
        raise errors.TierNotFound(attr="tier")
    return row[0]


@cache
def _tier_id_sql() -> str:
    quote, meta = connection.ops.quote_name, Tier._meta
    merchant, name = (quote(meta.get_field(field).column) for field in ("merchant", "name"))
    return f"SELECT {quote(meta.pk.column)} FROM {quote(meta.db_table)} WHERE {merchant} = %s AND {name} = %s"


def tier_entry(*, merchant: Merchant) -> Tier | None:
    """The tier a new member starts in: the highest one that needs no spend."""
    return Tier.objects.filter(merchant=merchant, min_spend_12m=0).order_by("-rank").first()


def tier_top_rank(*, merchant) -> Subquery:
    """For a row: the highest tier rank of its merchant (``merchant``: an OuterRef); null
    without tiers. The purchase pipeline skips the upgrade for a member already there."""
    return Subquery(Tier.objects.filter(merchant=merchant).order_by("-rank").values("rank")[:1])

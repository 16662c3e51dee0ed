"""Reads over the catalog and purchases."""

from collections import defaultdict
from datetime import datetime
from itertools import pairwise
from statistics import median

from django.db.models import F, Prefetch, QuerySet

from members.models import Merchant, Shopper
from storefront import errors
from storefront.models import Category, Order, OrderLine, Product, PurchaseStat


def purchase_stat_list(*, shopper: Shopper, merchant: Merchant | None = None) -> QuerySet[PurchaseStat]:
    """A shopper's frequently purchased goods: most often bought first, then most recent."""
    stats = PurchaseStat.objects.filter(shopper=shopper).select_related(
        "product__merchant", "product__category"
    )
    if merchant is not None:
        stats = stats.filter(merchant=merchant)
    return stats


def purchase_due_again(*, shopper: Shopper, stats: list[PurchaseStat]) -> dict[int, datetime]:
    """When each product bought at least twice is due again: last purchase + median interval.

    One query for the whole page: the times the shopper bought these products (a line
    refunded in full was not bought). A date past the calendar's end is no date.
    """
    repeat_ids = [s.product_id for s in stats if s.times_purchased >= 2]
    if not repeat_ids:
        return {}
    times: dict[int, list[datetime]] = defaultdict(list)
    rows = (
        OrderLine.objects.filter(
            order__shopper=shopper, product_id__in=repeat_ids, refunded_quantity__lt=F("quantity")
        )
        .order_by("product_id", "order__paid_at")
        .values_list("product_id", "order__paid_at")
    )
    for product_id, paid_at in rows:
        times[product_id].append(paid_at)
    due = {}
    for product_id, moments in times.items():
        if len(moments) < 2:
            continue
        gaps = [later - earlier for earlier, later in pairwise(moments)]
        try:
            due[product_id] = moments[-1] + median(gaps)
        except OverflowError:
            continue
    return due


def product_list(
    *,
    merchant: Merchant,
    published: bool | None = None,
    category: str | None = None,
    sku_prefix: str | None = None,
) -> QuerySet[Product]:
    """The merchant's catalog (``product_unique_merchant_sku`` serves the sku order and prefix)."""
    products = Product.objects.filter(merchant=merchant).select_related("category")
    if published is not None:
        products = products.filter(published_at__isnull=not published)
    if category is not None:
        products = products.filter(category__slug=category)
    if sku_prefix:
        products = products.filter(sku__startswith=sku_prefix)
    return products


def product_get(*, merchant: Merchant, sku: str) -> Product:
    product = Product.objects.filter(merchant=merchant, sku=sku).select_related("category").first()
    if product is None:
        raise errors.ProductNotFound()
    return product


def order_list(
    *,
    merchant: Merchant,
    shopper: str | None = None,
    paid_after: datetime | None = None,
    paid_before: datetime | None = None,
) -> QuerySet[Order]:
    """The merchant's orders with their shopper, selling account, lines and refunds.

    Three queries a page: the orders, their lines with products, their refunds.
    """
    orders = (
        Order.objects.filter(merchant=merchant)
        .select_related("shopper", "via_account")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("id")),
            "refunds",
        )
    )
    if shopper is not None:
        orders = orders.filter(shopper__external_id=shopper)
    if paid_after is not None:
        orders = orders.filter(paid_at__gte=paid_after)
    if paid_before is not None:
        orders = orders.filter(paid_at__lt=paid_before)
    return orders


def recent_orders(*, merchant: Merchant, shopper: Shopper, limit: int) -> QuerySet[Order]:
    """A shopper's latest orders at this merchant (``order_merchant_shopper_paid``)."""
    return Order.objects.filter(merchant=merchant, shopper=shopper).order_by("-paid_at", "-id")[:limit]


def category_get(*, merchant: Merchant, slug: str) -> Category:
    """The merchant's category with this slug; a template may name only one that exists."""
    category = Category.objects.filter(merchant=merchant, slug=slug).first()
    if category is None:
        raise errors.UnknownCategory(attr="category")
    return category


def products_by_sku(*, merchant: Merchant, skus: list[str]) -> dict[str, Product]:
    """This merchant's products for the skus of an order or cart; any unknown sku refuses it."""
    if len(set(skus)) != len(skus):
        raise errors.DuplicateSku(attr="lines")
    products = {p.sku: p for p in Product.objects.filter(merchant=merchant, sku__in=skus)}
    missing = [sku for sku in skus if sku not in products]
    if missing:
        detail = f"No product of this merchant with sku {', '.join(missing)}."
        raise errors.UnknownProduct(detail, attr="lines")
    return products


def shopper_has_ordered(*, merchant_id: int, shopper_id: int) -> bool:
    """Whether the shopper has any order with the merchant (one index probe)."""
    return Order.objects.filter(merchant_id=merchant_id, shopper_id=shopper_id).exists()


def shopper_first_order_at(*, merchant_id: int, shopper_id: int) -> datetime | None:
    """When the shopper first paid the merchant, if ever (one index probe)."""
    first = Order.objects.filter(merchant_id=merchant_id, shopper_id=shopper_id).order_by("paid_at").first()
    return first.paid_at if first else None

"""Catalog writes: products, and categories created on first use."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Min, Sum
from django.utils import timezone

from members.models import Merchant
from storefront import errors
from storefront.models import Category, OrderLine, Product, PurchaseStat


def category_get_or_create(*, slug: str) -> Category:
    """Categories are shared and created by the first merchant that names one."""
    try:
        with transaction.atomic():
            category, _ = Category.objects.get_or_create(
                slug=slug, defaults={"name": slug.replace("-", " ").title()}
            )
    except IntegrityError:  # created concurrently
        category = Category.objects.get(slug=slug)
    return category


@transaction.atomic
def product_create(
    *,
    merchant: Merchant,
    sku: str,
    title: str,
    price: Decimal,
    category: str | None = None,
    tags: list[str] | None = None,
    published: bool = False,
) -> Product:
    if Product.objects.filter(merchant=merchant, sku=sku).exists():
        raise errors.ProductSkuTaken(attr="sku")
    try:
        with transaction.atomic():
            return Product.objects.create(
                merchant=merchant,
                sku=sku,
                title=title,
                price=price,
                category=category_get_or_create(slug=category) if category else None,
                tags=_clean_tags(tags),
                published_at=timezone.now() if published else None,
            )
    except IntegrityError:
        raise errors.ProductSkuTaken(attr="sku") from None


UPDATABLE = {"title", "price", "category", "tags", "published"}


@transaction.atomic
def product_update(*, merchant: Merchant, sku: str, **changes) -> Product:
    """Change some fields of a product. ``published`` sets or clears ``published_at``."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise TypeError(f"not updatable: {sorted(unknown)}")
    product = Product.objects.select_for_update().filter(merchant=merchant, sku=sku).first()
    if product is None:
        raise errors.ProductNotFound()
    fields = []
    for name in ("title", "price"):
        if name in changes:
            setattr(product, name, changes[name])
            fields.append(name)
    if "tags" in changes:
        product.tags = _clean_tags(changes["tags"])
        fields.append("tags")
    if "category" in changes:
        slug = changes["category"]
        product.category = category_get_or_create(slug=slug) if slug else None
        fields.append("category")
    if "published" in changes:
        if changes["published"] and product.published_at is None:
            product.published_at = timezone.now()
        elif not changes["published"]:
            product.published_at = None
        fields.append("published_at")
    if fields:
        product.save(update_fields=[*fields, "updated_at"])
    return product


def _clean_tags(tags: list[str] | None) -> list[str]:
    """Lowercase, stripped, unique, in the order given."""
    seen: dict[str, None] = {}
    for tag in tags or []:
        word = tag.strip().lower()
        if word:
            seen.setdefault(word)
    return list(seen)


def purchase_stats_recount(*, shopper_id: int, product_ids: list[int]) -> None:
    """Recount a shopper's "frequently purchased" rows of these products after a refund.

    From the lines that are not wholly refunded: a line refunded in full was not bought,
    a half-refunded one counts what was kept. A product with no such line leaves the list.
    Three statements whatever the number of products.
    """
    kept = {
        row["product_id"]: row
        for row in OrderLine.objects.filter(
            order__shopper_id=shopper_id, product_id__in=product_ids, refunded_quantity__lt=F("quantity")
        )
        .values("product_id")
        .annotate(
            times=Count("id"),
            kept_quantity=Sum(F("quantity") - F("refunded_quantity")),
            first=Min("order__paid_at"),
            last=Max("order__paid_at"),
        )
    }
    stats = list(PurchaseStat.objects.filter(shopper_id=shopper_id, product_id__in=product_ids))
    for stat in stats:
        row = kept.get(stat.product_id)
        if row is not None:
            stat.times_purchased, stat.quantity = row["times"], row["kept_quantity"]
            stat.first_purchased_at, stat.last_purchased_at = row["first"], row["last"]
    PurchaseStat.objects.bulk_update(
        [s for s in stats if s.product_id in kept],
        ["times_purchased", "quantity", "first_purchased_at", "last_purchased_at"],
    )
    gone = [s.pk for s in stats if s.product_id not in kept]
    if gone:
        PurchaseStat.objects.filter(pk__in=gone).delete()

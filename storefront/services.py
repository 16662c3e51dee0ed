"""Catalog writes: products, and each merchant's categories, created on first use by a product."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from members.models import Merchant
from storefront import errors
from storefront.models import Category, Product


def category_get_or_create(*, merchant: Merchant, slug: str) -> Category:
    """The merchant's category with this slug, created the first time a product names it."""
    try:
        with transaction.atomic():
            category, _ = Category.objects.get_or_create(
                merchant=merchant, slug=slug, defaults={"name": slug.replace("-", " ").title()}
            )
    except IntegrityError:  # created concurrently
        category = Category.objects.get(merchant=merchant, slug=slug)
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
                category=category_get_or_create(merchant=merchant, slug=category) if category else None,
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
        product.category = category_get_or_create(merchant=merchant, slug=slug) if slug else None
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

"""Catalog writes: products, and each merchant's categories, created on first use by a product."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.outbox import outbox_send
from core.services import model_update
from members.models import Merchant
from storefront import errors, tasks
from storefront.locks import products_lock
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
            product = Product.objects.create(
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
    if published:
        _rollout_on_commit(product)
    return product


UPDATABLE = {"title", "price", "category", "tags", "published"}


@transaction.atomic
def product_update(*, merchant: Merchant, sku: str, **changes) -> Product:
    """Change some fields of a product. ``published`` sets or clears ``published_at``."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise TypeError(f"not updatable: {sorted(unknown)}")
    product = products_lock().filter(merchant=merchant, sku=sku).first()
    if product is None:
        raise errors.ProductNotFound()
    data = {name: changes[name] for name in ("title", "price") if name in changes}
    if "tags" in changes:
        data["tags"] = _clean_tags(changes["tags"])
    if "category" in changes:
        slug = changes["category"]
        data["category"] = category_get_or_create(merchant=merchant, slug=slug) if slug else None
    if "published" in changes:
        if not changes["published"]:
            data["published_at"] = None
        elif product.published_at is None:
            data["published_at"] = timezone.now()
            _rollout_on_commit(product)
    model_update(instance=product, fields=("title", "price", "tags", "category", "published_at"), data=data)
    return product


def _rollout_on_commit(product: Product) -> None:
    """Publishing starts the fans-first push, once the publish has committed (a rolled-back
    publish sends nothing, a broker down at the commit delays it: core.outbox); the task
    does nothing if the product has a rollout already."""
    outbox_send(tasks.start_rollout, product_id=product.pk)


def _clean_tags(tags: list[str] | None) -> list[str]:
    """Lowercase, stripped, unique, in the order given."""
    seen: dict[str, None] = {}
    for tag in tags or []:
        word = tag.strip().lower()
        if word:
            seen.setdefault(word)
    return list(seen)

"""The page of a shopper's frequently purchased goods (``GET /me/frequently-purchased``),
read by one written-out statement."""

import functools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from core.sql import column, table
from members.errors import MerchantNotFound
from members.models import Merchant, Shopper
from storefront.models import Category, Product, PurchaseStat


@dataclass(slots=True)
class PurchaseRow:
    """One product of the list with the shopper's purchase figures, as ``purchase_page``
    reads it (no model instances: the list is read often and only shown)."""

    id: int
    product_id: int
    merchant_id: int
    times_purchased: int
    quantity: int
    last_purchased_at: datetime
    sku: str
    title: str
    price: Decimal
    category_id: int | None
    merchant_slug: str
    category_slug: str | None


# The list's order, most often bought first, then most recent, as the CursorPage it replaced
# (``purchasestat_frequent``, ``purchasestat_frequent_merchant``); its cursor is this key.
PURCHASE_PAGE_KEY = [
    PurchaseStat._meta.get_field(name) for name in ("times_purchased", "last_purchased_at", "id")
]


def purchase_page(*, shopper: Shopper, merchant_slug: str | None, keyset) -> list[PurchaseRow]:
    """One page (``keyset``) of the shopper's frequently purchased goods, only the merchant's
    with this slug if one is given, with each product, its merchant's slug and category's.

    One statement, written out: as a queryset (and a merchant lookup before it) its compile
    cost more CPU than PostgreSQL spent on it. The merchant is a scalar subquery on its
    unique slug, so the page is read in order from ``purchasestat_frequent_merchant`` (or
    ``purchasestat_frequent`` without it). An empty page with a merchant asks whether the
    merchant exists (:func:`merchant_check`), one statement on that path only.
    """
    head, key = _purchase_page_sql(by_merchant=merchant_slug is not None)
    params = [shopper.pk, *([] if merchant_slug is None else [merchant_slug])]
    rows = [PurchaseRow(*values) for values in keyset.read(head, params, key=key, fields=_PURCHASE_FIELDS)]
    if not rows and merchant_slug is not None:
        merchant_check(slug=merchant_slug)
    return rows


def merchant_check(*, slug: str) -> None:
    """The filter's 400 ``merchant_not_found`` for an unknown slug, as ``merchant_get`` says it."""
    with connection.cursor() as cursor:
        cursor.execute(_merchant_sql(), [slug])
        if cursor.fetchone() is None:
            raise MerchantNotFound(attr="merchant")


# The statement's columns, as ``PurchaseRow`` lists them: (table alias, model, field name).
_PURCHASE_COLUMNS = (
    ("ps", PurchaseStat, "id"),
    ("ps", PurchaseStat, "product"),
    ("ps", PurchaseStat, "merchant"),
    ("ps", PurchaseStat, "times_purchased"),
    ("ps", PurchaseStat, "quantity"),
    ("ps", PurchaseStat, "last_purchased_at"),
    ("p", Product, "sku"),
    ("p", Product, "title"),
    ("p", Product, "price"),
    ("p", Product, "category"),
    ("m", Merchant, "slug"),
    ("c", Category, "slug"),
)
_PURCHASE_FIELDS = [model._meta.get_field(name) for _, model, name in _PURCHASE_COLUMNS]


@functools.cache
def _purchase_page_sql(*, by_merchant: bool) -> tuple[str, list[str]]:
    """The page statement of ``purchase_page`` up to its WHERE's filters (the keyset's
    condition, ORDER BY and LIMIT follow), and the key's columns. Parameters: the shopper,
    the merchant's slug if ``by_merchant``."""
    c = column
    selected = ", ".join(f"{alias}.{c(model, name)}" for alias, model, name in _PURCHASE_COLUMNS)
    filters = [f"ps.{c(PurchaseStat, 'shopper')} = %s"]
    if by_merchant:
        merchant = f"SELECT {c(Merchant, 'id')} FROM {table(Merchant)} WHERE {c(Merchant, 'slug')} = %s"
        filters.append(f"ps.{c(PurchaseStat, 'merchant')} = ({merchant})")
    key = [f"ps.{c(PurchaseStat, name)}" for name in ("times_purchased", "last_purchased_at", "id")]
    head = (
        f"SELECT {selected} FROM {table(PurchaseStat)} ps"
        f" JOIN {table(Product)} p ON p.{c(Product, 'id')} = ps.{c(PurchaseStat, 'product')}"
        f" JOIN {table(Merchant)} m ON m.{c(Merchant, 'id')} = p.{c(Product, 'merchant')}"
        f" LEFT JOIN {table(Category)} c ON c.{c(Category, 'id')} = p.{c(Product, 'category')}"
        f" WHERE {' AND '.join(filters)}"
    )
    return head, key


@functools.cache
def _merchant_sql() -> str:
    return f"SELECT 1 FROM {table(Merchant)} WHERE {column(Merchant, 'slug')} = %s"

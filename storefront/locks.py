"""Row locks of the storefront app; the order across apps is in ``core.locks``."""

from django.db.models import QuerySet

from core.locks import locked
from storefront.models import Order, Product


def orders_lock() -> QuerySet[Order]:
    """Orders, locked: the order's lock serialises its refunds, replays included."""
    return locked(Order)


def products_lock() -> QuerySet[Product]:
    return locked(Product)

"""Row locks of the members app; the order across apps is in ``core.locks``."""

from django.db.models import QuerySet

from core.locks import locked
from members.models import Membership, Merchant, Shopper


def merchants_lock() -> QuerySet[Merchant]:
    """Merchants, locked: a join takes the member number from the merchant's counter."""
    return locked(Merchant)


def shoppers_lock() -> QuerySet[Shopper]:
    return locked(Shopper)


def memberships_lock() -> QuerySet[Membership]:
    """Memberships, locked: the lock every coupon issue to the member holds (per-member limit)."""
    return locked(Membership)

"""Row locks of the members app; the order across apps is in ``core.locks``."""

from django.db.models import QuerySet

from core.locks import locked
from members.models import Membership, Merchant, Shopper, ShopperClaim


def merchants_lock() -> QuerySet[Merchant]:
    """Merchants, locked: a join takes the member number from the merchant's counter."""
    return locked(Merchant)


def shoppers_lock() -> QuerySet[Shopper]:
    return locked(Shopper)


def shopper_claims_lock() -> QuerySet[ShopperClaim]:
    """A shopper's claim codes, locked: each attempt at a code is counted under this lock."""
    return locked(ShopperClaim)


def memberships_lock() -> QuerySet[Membership]:
    """Memberships, locked: the lock every coupon issue to the member holds (per-member limit)."""
    return locked(Membership)

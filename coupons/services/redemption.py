"""Redeeming coupons in an order, and giving them back when the order is refunded."""

from datetime import datetime

from coupons.errors import CouponChangedUnderLock
from coupons.models import Coupon
from storefront.models import Order


def coupons_redeem(*, coupons: list[Coupon], order: Order, now: datetime) -> None:
    """Mark locked, checked coupons as used by ``order`` (one UPDATE).

    The guard on ``state`` is a second line of defence: the pipeline holds the rows'
    locks and has checked them, so every row matches.
    """
    if not coupons:
        return
    updated = Coupon.objects.filter(pk__in=[c.pk for c in coupons], state=Coupon.State.ISSUED).update(
        state=Coupon.State.REDEEMED, order=order, redeemed_at=now
    )
    if updated != len(coupons):
        raise CouponChangedUnderLock(
            f"order {order.pk}: {len(coupons) - updated} coupon(s) changed under the lock"
        )


def coupons_restore(*, order: Order, now: datetime) -> list[str]:
    """A fully refunded order gives its coupons back, unless they have expired since."""
    restorable = Coupon.objects.filter(order=order, state=Coupon.State.REDEEMED, expires_at__gt=now)
    codes = sorted(restorable.values_list("code", flat=True))
    if codes:
        Coupon.objects.filter(code__in=codes).update(state=Coupon.State.ISSUED, order=None, redeemed_at=None)
    return codes

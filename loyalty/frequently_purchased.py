"""The shopper's frequently purchased goods (``GET /me/frequently-purchased``): a page of
purchase stats with when each is due again and a usable repurchase coupon that covers it,
and its answer built directly."""

from dataclasses import dataclass
from datetime import datetime

from core.api import moment_text, money_text
from coupons import selectors as coupon_selectors
from coupons.apis.coupons import coupon_answer
from coupons.models import Coupon
from coupons.rules import CartLine, in_scope
from members.models import Shopper
from storefront import selectors as storefront_selectors
from storefront.purchases import PurchaseRow


@dataclass(slots=True)
class FrequentlyPurchased:
    """A row of the page with what ``frequently_purchased_page`` adds to it."""

    row: PurchaseRow
    due_again: datetime | None
    coupon: coupon_selectors.HeldCoupon | None


def frequently_purchased_page(
    *, shopper: Shopper, rows: list[PurchaseRow], now: datetime
) -> list[FrequentlyPurchased]:
    """Each row of a page with ``due_again`` and the repurchase coupon that covers it (the
    one that expires first). At most two statements for the page: the purchase times of
    the products bought twice or more, and the usable coupons of the page's merchants with
    their product lists (``usable_coupons_shown``, one statement; the repurchase ones kept
    here, in its order: soonest to expire first, as the list's coupons always were)."""
    if not rows:
        return []
    due = storefront_selectors.purchase_due_again(shopper=shopper, stats=rows)
    coupons = [
        coupon
        for coupon in coupon_selectors.usable_coupons_shown(
            shopper=shopper, merchant_ids={row.merchant_id for row in rows}, now=now
        )
        if coupon.source == Coupon.Source.REPURCHASE
    ]
    page = []
    for row in rows:
        line = CartLine(
            product_id=row.product_id, category_id=row.category_id, quantity=1, unit_price=row.price
        )
        coupon = next(
            (
                c
                for c in coupons
                if c.merchant_id == row.merchant_id and in_scope(c.template, line, c.product_ids)
            ),
            None,
        )
        page.append(FrequentlyPurchased(row=row, due_again=due.get(row.product_id), coupon=coupon))
    return page


def frequently_purchased_answer(item: FrequentlyPurchased, *, now: datetime, tz) -> dict:
    """What ``FrequentlyPurchasedOutput`` makes of a row, built directly (times in ``tz``).
    tests/loyalty/test_frequently_purchased_api.py checks the two agree."""
    row = item.row
    return {
        "product": {
            "sku": row.sku,
            "title": row.title,
            "merchant": row.merchant_slug,
            "price": money_text(row.price),
            "category": row.category_slug,
        },
        "times_purchased": row.times_purchased,
        "quantity": row.quantity,
        "last_purchased_at": moment_text(row.last_purchased_at, tz),
        "due_again": moment_text(item.due_again, tz),
        "coupon": None if item.coupon is None else coupon_answer(item.coupon, now=now, tz=tz),
    }

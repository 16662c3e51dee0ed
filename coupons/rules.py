"""The rules of using coupons in a cart: the same code decides a real order and a dry run.

Pure functions over loaded rows: the caller loads (and, for an order, locks) the
coupons; ``evaluate`` says which apply, with what discount, and why the others do not.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from coupons import errors
from coupons.models import Coupon, CouponTemplate

CENT = Decimal("0.01")


@dataclass(frozen=True)
class CartLine:
    product_id: int
    category_id: int | None
    quantity: int
    unit_price: Decimal

    @classmethod
    def of(cls, product, *, quantity: int, unit_price: Decimal) -> "CartLine":
        return cls(
            product_id=product.pk, category_id=product.category_id, quantity=quantity, unit_price=unit_price
        )

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass
class Evaluation:
    subtotal: Decimal
    applied: list[tuple[Coupon, Decimal]] = field(default_factory=list)
    rejected: list[tuple[str, errors.CouponRejected]] = field(default_factory=list)

    @property
    def discount(self) -> Decimal:
        return min(sum((d for _, d in self.applied), Decimal("0")), self.subtotal).quantize(CENT)

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount


def in_scope(template: CouponTemplate, line: CartLine, product_ids: frozenset[int]) -> bool:
    if template.scope == CouponTemplate.Scope.ALL:
        return True
    if template.scope == CouponTemplate.Scope.CATEGORY:
        return line.category_id is not None and line.category_id == template.category_id
    return line.product_id in product_ids


def discount_for(template: CouponTemplate, scoped_subtotal: Decimal) -> Decimal:
    """The discount on the lines in scope: percent capped by ``max_discount``; never above them."""
    if template.kind == CouponTemplate.Kind.PERCENT:
        amount = (scoped_subtotal * template.value / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        if template.max_discount is not None:
            amount = min(amount, template.max_discount)
    else:
        amount = template.value
    return min(amount, scoped_subtotal)


def check(
    coupon: Coupon | None,
    *,
    shopper_id: int | None,
    lines: list[CartLine],
    product_ids: frozenset[int],
    now: datetime,
) -> Decimal:
    """The discount this coupon gives on these lines, or the reason it cannot be used."""
    if coupon is None:
        raise errors.CouponNotFound()
    if coupon.shopper_id != shopper_id:
        raise errors.CouponNotOwned()
    if coupon.state == Coupon.State.REDEEMED:
        raise errors.CouponRedeemed()
    if coupon.state == Coupon.State.VOID:
        raise errors.CouponVoid()
    if coupon.state == Coupon.State.EXPIRED or coupon.expires_at <= now:
        raise errors.CouponExpired()
    if coupon.valid_from is not None and coupon.valid_from > now:
        raise errors.CouponNotStarted()
    template = coupon.template
    scoped = [line for line in lines if in_scope(template, line, product_ids)]
    if not scoped:
        raise errors.CouponOutOfScope()
    scoped_subtotal = sum((line.amount for line in scoped), Decimal("0"))
    if scoped_subtotal < template.min_spend:
        raise errors.CouponMinSpend(
            f"Needs {template.min_spend} spent on the products it covers; the order has {scoped_subtotal}."
        )
    return discount_for(template, scoped_subtotal)


def evaluate(
    *,
    codes: list[str],
    coupons: dict[str, Coupon],
    template_products: dict[int, frozenset[int]],
    shopper_id: int | None,
    lines: list[CartLine],
    now: datetime,
) -> Evaluation:
    """Apply the codes in the order given. One coupon per order, unless all used together stack.

    Stacked coupons share the lines: each takes its discount from what the coupons
    before it left of the lines in its scope, so together they never go beyond them.
    """
    result = Evaluation(subtotal=sum((line.amount for line in lines), Decimal("0")).quantize(CENT))
    left = [line.amount for line in lines]  # of each line, what no coupon has taken yet
    for code in codes:
        coupon = coupons.get(code)
        try:
            product_ids = template_products.get(coupon.template_id, frozenset()) if coupon else frozenset()
            discount = check(coupon, shopper_id=shopper_id, lines=lines, product_ids=product_ids, now=now)
            if result.applied and not (
                coupon.template.stackable and all(c.template.stackable for c, _ in result.applied)
            ):
                raise errors.CouponNotStackable()
        except errors.CouponRejected as reason:
            result.rejected.append((code, reason))
            continue
        scoped = [i for i, line in enumerate(lines) if in_scope(coupon.template, line, product_ids)]
        discount = min(discount, sum((left[i] for i in scoped), Decimal("0")))
        to_take = discount
        for i in scoped:
            taken = min(left[i], to_take)
            left[i] -= taken
            to_take -= taken
        result.applied.append((coupon, discount))
    return result

"""The coupons an order redeems and the repurchase coupon it earns."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from coupons import errors as coupon_errors
from coupons import rules as coupon_rules
from coupons import selectors as coupon_selectors
from coupons.locks import coupons_lock_by_code
from coupons.models import Coupon
from coupons.services.issuing import coupon_issue
from coupons.services.scheduled import coupon_schedule
from loyalty.models import Program
from loyalty.services.purchases.inputs import OrderInput
from loyalty.services.purchases.member import OrderProduct
from members.models import Merchant
from storefront.selectors import shopper_has_ordered


def order_coupons_check(
    *,
    merchant: Merchant,
    order: OrderInput,
    shopper_id: int,
    products: dict[str, OrderProduct],
    now: datetime,
    coupons: dict[str, Coupon] | None = None,
) -> tuple[list[Coupon], Decimal, Decimal]:
    """Lock the order's coupons (unless read already: ``coupons``, on SQLite) and apply
    the rules; any rejection refuses the order."""
    if coupons is None:
        coupons = coupons_lock_by_code(merchant=merchant, codes=list(order.coupon_codes))
    lines = [
        coupon_rules.CartLine.of(products[line.sku], quantity=line.quantity, unit_price=line.unit_price)
        for line in order.lines
    ]
    evaluation = coupon_rules.evaluate(
        codes=list(order.coupon_codes),
        coupons=coupons,
        template_products=coupon_selectors.template_product_ids(coupons=coupons.values()),
        shopper_id=shopper_id,
        lines=lines,
        now=now,
    )
    if evaluation.rejected:
        code, reason = evaluation.rejected[0]
        reason.detail = f"{code}: {reason.detail}"
        reason.attr = "coupon_codes"
        raise reason
    return [coupon for coupon, _ in evaluation.applied], evaluation.subtotal, evaluation.discount


def earns_repurchase_coupon(
    *, program: Program, merchant: Merchant, shopper_id: int, first_member_order: bool, is_member: bool
) -> bool:
    """Whether this order is the one that earns the repurchase coupon: the shopper's first
    order with the merchant, whether or not they joined (coupons are held by shoppers);
    with ``repurchase_members_only``, only if they are a member when they place it.

    A member's points account knows (``first_order_at`` also counts the orders from
    before joining, ``points_account_open``): no query. Read before this order is written.
    """
    if program.repurchase_template_id is None:
        return False
    if is_member:
        return first_member_order
    if program.repurchase_members_only:
        return False
    return not shopper_has_ordered(merchant_id=merchant.pk, shopper_id=shopper_id)


def repurchase_coupon(
    *, program: Program, merchant: Merchant, shopper_id: int, now: datetime
) -> Coupon | None:
    """A first order earns a coupon for the next one, now or after a delay.

    A coupon that cannot be issued (stock out, limit reached, template off) does not
    refuse the order: the shopper simply gets none. Two first orders of one shopper
    racing may both get here; the per-shopper limit (``coupon_issue``) keeps them to
    what the template allows.
    """
    template = program.repurchase_template
    if template.merchant_id == merchant.pk:
        # The merchant in hand: the coupon's webhook check (coupon.issued) reads it, no statement.
        template.merchant = merchant
    if program.repurchase_delay_days:
        coupon_schedule(
            template=template,
            merchant_id=merchant.pk,
            shopper_id=shopper_id,
            source=Coupon.Source.REPURCHASE,
            due_at=now + timedelta(days=program.repurchase_delay_days),
            members_only=program.repurchase_members_only,
        )
        return None
    try:
        return coupon_issue(
            template=template,
            merchant_id=merchant.pk,
            shopper_id=shopper_id,
            source=Coupon.Source.REPURCHASE,
            now=now,
        )
    except coupon_errors.NOT_ISSUABLE:
        return None


def issued_coupon_answer(coupon: Coupon) -> dict:
    return {"code": coupon.code, "template": coupon.template_id, "expires_at": api_time(coupon.expires_at)}


def api_time(moment: datetime) -> str:
    """The API's one time format, ``2026-12-01T10:00:00Z``, for answers stored as JSON."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

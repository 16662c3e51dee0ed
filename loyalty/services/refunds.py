"""Refunds by lines: points come back in proportion, once per refund id; a refund
that completes the order gives its coupons back (unless they have expired).

Amounts are cumulative, so rounding never drifts: after each refund the order's
refunded amount is ``total * refunded_subtotal / subtotal`` (to the cent) and its
reversed points ``floor(points_earned * refunded_amount / total)``; a refund moves
each by the difference. A full refund therefore returns exactly the whole total
and reverses exactly the points earned, however it was split.

The fan score the order raised (its attributed account's) loses the refund's share of
the order's lines by value (``refunded subtotal / subtotal``, this refund's part of
it), decayed as the score is: a full refund takes back exactly the purchase weight
the order added (``members.engagement.services.purchase.purchase_score_remove``,
docs/iron-fans.md). The order's ``purchase`` event stays: the shopper did engage that day.
"""

from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from core.fingerprint import request_fingerprint
from coupons.services.redemption import coupons_restore
from loyalty import errors
from loyalty.locks import points_accounts_lock
from loyalty.models import PointsAccount, PointsEntry
from loyalty.services.order_events import refund_events_emit
from loyalty.services.points import points_debit_locked
from members.engagement.services.purchase import purchase_score_remove
from members.models import Merchant
from storefront import errors as storefront_errors
from storefront.locks import orders_lock
from storefront.models import Order, OrderLine, Refund
from storefront.services import purchase_stats_recount

CENT = Decimal("0.01")


@dataclass(frozen=True)
class RefundLineInput:
    sku: str
    quantity: int


@dataclass(frozen=True)
class RefundInput:
    external_id: str
    lines: tuple[RefundLineInput, ...]

    def fingerprint(self) -> str:
        canonical = {
            "external_id": self.external_id,
            "lines": sorted([ln.sku, ln.quantity] for ln in self.lines),
        }
        return request_fingerprint(canonical)


@dataclass(frozen=True)
class RefundResult:
    response: dict
    created: bool


@transaction.atomic
def refund_record(*, merchant: Merchant, order_external_id: str, refund: RefundInput) -> RefundResult:
    # The order's row lock serialises refunds of one order, replays included.
    order = orders_lock().filter(merchant=merchant, external_id=order_external_id).first()
    if order is None:
        raise errors.OrderNotFound()
    fingerprint = refund.fingerprint()
    existing = Refund.objects.filter(order=order, external_id=refund.external_id).first()
    if existing is not None:
        if existing.payload_hash != fingerprint:
            raise errors.RefundConflict(attr="external_id")
        return RefundResult(response=existing.response, created=False)

    lines = {line.product.sku: line for line in order.lines.select_related("product")}
    refunded_before = _refunded_subtotal(lines)
    _apply_to_lines(lines=lines, refund=refund)
    OrderLine.objects.bulk_update(list(lines.values()), ["refunded_quantity"])

    refunded_subtotal = _refunded_subtotal(lines)
    refunded_total = _share(order.total, refunded_subtotal, order.subtotal).quantize(
        CENT, rounding=ROUND_HALF_UP
    )
    amount = refunded_total - order.refunded_amount
    reversed_total = (
        int((order.points_earned * refunded_total / order.total).to_integral_value(rounding=ROUND_FLOOR))
        if order.total
        else 0
    )
    points = reversed_total - order.points_reversed

    now = timezone.now()
    fully = all(ln.refunded_quantity == ln.quantity for ln in lines.values())
    # The points account before the coupons: the purchase pipeline locks in that order
    # too, so a refund and an order naming the same coupon never wait on each other.
    account = _points_account_lock(order=order) if points > 0 else None
    # A whole order refunded gives its coupons back; a partial refund keeps them used.
    restored = coupons_restore(order=order, now=now) if fully else []
    response = {
        "external_id": refund.external_id,
        "amount": str(amount),
        "points_reversed": points,
        "coupons_restored": restored,
    }
    new_refund = Refund.objects.create(
        order=order,
        external_id=refund.external_id,
        amount=amount,
        lines=[{"sku": ln.sku, "quantity": ln.quantity} for ln in refund.lines],
        payload_hash=fingerprint,
        response=response,
    )
    if account is not None:
        _reverse_points(account=account, order=order, refund=new_refund, points=points, now=now)

    Order.objects.filter(pk=order.pk).update(
        refunded_amount=refunded_total,
        points_reversed=reversed_total,
        status=Order.Status.REFUNDED if fully else Order.Status.PARTIALLY_REFUNDED,
    )
    purchase_stats_recount(
        shopper_id=order.shopper_id, product_ids=[lines[item.sku].product_id for item in refund.lines]
    )
    if order.attributed_account_id is not None and order.subtotal:
        # The fan score loses this refund's share of the order's lines (by value, so a
        # whole refund, however split, takes back the whole purchase weight).
        purchase_score_remove(
            merchant_id=order.merchant_id,
            shopper_id=order.shopper_id,
            account_id=order.attributed_account_id,
            paid_at=order.paid_at,
            share=float((refunded_subtotal - refunded_before) / order.subtotal),
        )
    refund_events_emit(
        merchant=merchant,
        order_external_id=order.external_id,
        shopper_id=order.shopper_id,
        response=response,
        now=now,
    )
    return RefundResult(response=response, created=True)


def _refunded_subtotal(lines: dict[str, OrderLine]) -> Decimal:
    return sum((ln.refunded_quantity * ln.unit_price for ln in lines.values()), Decimal("0"))


def _apply_to_lines(*, lines: dict[str, OrderLine], refund: RefundInput) -> None:
    seen = set()
    for item in refund.lines:
        if item.sku in seen:
            raise storefront_errors.DuplicateSku(attr="lines")
        seen.add(item.sku)
        line = lines.get(item.sku)
        if line is None:
            raise errors.SkuNotInOrder(f"sku {item.sku} is not a line of this order.", attr="lines")
        left = line.quantity - line.refunded_quantity
        if item.quantity > left:
            raise errors.RefundExceedsPurchase(
                f"sku {item.sku}: {item.quantity} asked, {left} left to refund.", attr="lines"
            )
        line.refunded_quantity += item.quantity


def _share(whole: Decimal, part: Decimal, of: Decimal) -> Decimal:
    return whole * part / of if of else Decimal("0")


def _points_account_lock(*, order: Order) -> PointsAccount | None:
    """The account the order's points went to, locked; none when the shopper has none."""
    return (
        points_accounts_lock()
        .filter(membership__merchant_id=order.merchant_id, membership__shopper_id=order.shopper_id)
        .first()
    )


def _reverse_points(*, account: PointsAccount, order: Order, refund: Refund, points: int, now) -> None:
    """Take back points earned by the order: from its own lot first, then the others.

    Points already spent cannot be taken from lots; the shortfall becomes a negative
    balance, paid back by the next earnings.
    """
    own_lots = PointsEntry.objects.filter(
        account=account, order=order, kind=PointsEntry.Kind.EARN
    ).values_list("pk", flat=True)
    points_debit_locked(
        account=account,
        points=points,
        kind=PointsEntry.Kind.REVERSE,
        allow_debt=True,
        order=order,
        refund=refund,
        # By key (the entry's order and refund), never by their ids: those are as long as
        # their own columns, and the reason's is bounded.
        reason="refund of an order",
        now=now,
        lots_first=list(own_lots),
    )

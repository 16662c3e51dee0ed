"""``purchase_record``: an order in, and everything it earns, in one transaction."""

from decimal import ROUND_FLOOR, Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import DomainError
from core.fields import column_range
from coupons.services.redemption import coupons_redeem
from loyalty import errors
from loyalty.models import PointsAccount, PointsEntry
from loyalty.services.order_events import order_events_emit
from loyalty.services.points import lot_expiry
from loyalty.services.purchases.attribution import attribution_for, via_account_for
from loyalty.services.purchases.effects import order_effects_record
from loyalty.services.purchases.inputs import OrderInput, PurchaseResult
from loyalty.services.purchases.member import (
    member_row,
    member_row_by_shopper_id,
    products_by_sku,
    products_checked,
    program_for,
    skus_check,
)
from loyalty.services.purchases.order_coupons import (
    earns_repurchase_coupon,
    issued_coupon_answer,
    order_coupons_check,
    repurchase_coupon,
)
from loyalty.services.purchases.order_rows import order_insert
from loyalty.services.purchases.tiers import higher_tier_exists, upgrade_recorded
from members import services as members_services
from members.models import Membership, Merchant, Tier
from storefront.models import Order
from storefront.rules import order_amount_check, paid_at_check

# What a points column holds (64-bit). An order is never refused for the points it would
# earn: past this, it earns what is left to the limit.
MAX_POINTS = column_range(PointsAccount._meta.get_field("balance"))[1]
# points_reason of an order that earned nothing because the shopper is not an active member.
NOT_A_MEMBER = "not_a_member"


def purchase_record(*, merchant: Merchant, order: OrderInput) -> PurchaseResult:
    fingerprint = order.fingerprint()
    try:
        return _record(merchant=merchant, order=order, fingerprint=fingerprint)
    except (IntegrityError, DomainError):
        # A replay fails where the first run succeeded (its coupon is used now, its
        # row exists): answer it from the stored order when there is one.
        existing = Order.objects.filter(merchant=merchant, external_id=order.external_id).first()
        if existing is None:
            raise
        return _replay(existing, fingerprint)


def _replay(existing: Order, fingerprint: str) -> PurchaseResult:
    if existing.payload_hash != fingerprint:
        raise errors.OrderConflict(attr="external_id")
    return PurchaseResult(response=existing.response, created=False)


@transaction.atomic
def _record(*, merchant: Merchant, order: OrderInput, fingerprint: str) -> PurchaseResult:
    now = timezone.now()
    paid_at = order.paid_at or now
    paid_at_check(paid_at, now=now)
    skus = [line.sku for line in order.lines]
    skus_check(skus)
    codes = list(order.coupon_codes)

    member = member_row(merchant=merchant, shopper_external_id=order.shopper, skus=skus, codes=codes)
    if member is not None:
        shopper = member.account.membership.shopper
    else:
        shopper = members_services.shopper_get_or_create(external_id=order.shopper)
        member = member_row_by_shopper_id(merchant=merchant, shopper_id=shopper.pk, skus=skus, codes=codes)
    if member is not None:
        account, membership = member.account, member.account.membership
        products = products_checked(skus, list(member.products.values()))
    else:
        account = membership = None
        products = products_by_sku(merchant=merchant, skus=skus)
    via_account = via_account_for(merchant=merchant, handle=order.via_account, shopper_id=shopper.pk)
    attribution = attribution_for(
        merchant=merchant, shopper_id=shopper.pk, via_account=via_account, member=member
    )
    redeemed, subtotal, discount = order_coupons_check(
        merchant=merchant,
        order=order,
        shopper_id=shopper.pk,
        products=products,
        now=now,
        coupons=member.coupons if member is not None else None,
    )
    total = subtotal - discount
    order_amount_check(subtotal)

    is_member = membership is not None and membership.status == Membership.Status.ACTIVE
    program = program_for(merchant=merchant, member=member)
    points = points_for(total=total, program=program, tier=membership.tier) if is_member else 0
    if is_member:
        points = min(points, MAX_POINTS - max(account.balance, account.lifetime_earned, 0))
    first_order = is_member and account.first_order_at is None
    repurchase = earns_repurchase_coupon(
        program=program,
        merchant=merchant,
        shopper_id=shopper.pk,
        first_member_order=first_order,
        is_member=is_member,
    )
    issued = (
        repurchase_coupon(program=program, merchant=merchant, shopper_id=shopper.pk, now=now)
        if repurchase
        else None
    )

    response = {
        "external_id": order.external_id,
        "subtotal": str(subtotal),
        "discount": str(discount),
        "total": str(total),
        "points_earned": points,
        # Why no points, in a word the shop system can show; null when the member earned.
        "points_reason": None if is_member else NOT_A_MEMBER,
        "coupons_redeemed": [coupon.code for coupon in redeemed],
        "coupons_issued": [issued_coupon_answer(issued)] if issued else [],
    }
    new_order = order_insert(
        order=Order(
            merchant=merchant,
            shopper=shopper,
            external_id=order.external_id,
            via_account=via_account,
            attributed_account_id=attribution.account_id,
            subtotal=subtotal,
            discount=discount,
            total=total,
            points_earned=points,
            paid_at=paid_at,
            created_at=now,
            payload_hash=fingerprint,
            response=response,
            # Its preferences are written below, in this transaction (the backfill skips it).
            preferences_at=now,
        ),
        lines=[(products[line.sku].pk, line.quantity, line.unit_price) for line in order.lines],
    )
    coupons_redeem(coupons=redeemed, order=new_order, now=now)
    credit = None  # the points are written with the side effects, below (one statement)
    if points > 0:
        credit = {
            "account": account,
            "points": points,
            "kind": PointsEntry.Kind.EARN,
            "order": new_order,
            "reason": "points for an order",
            "now": now,
            "expires_at": lot_expiry(program=program, now=now),
            "first_order_at": now if first_order else None,
        }
    elif first_order:
        PointsAccount.objects.filter(pk=account.pk).update(first_order_at=now)
    may_move_up = is_member and higher_tier_exists(membership=membership, top_rank=member.top_tier_rank)
    upgrade = order_effects_record(
        merchant_id=merchant.pk,
        shopper_id=shopper.pk,
        lines=[
            (products[line.sku].pk, line.quantity, products[line.sku].category_slug, products[line.sku].tags)
            for line in order.lines
        ],
        paid_at=paid_at,
        attribution=attribution,
        credit=credit,
        move_up=membership if may_move_up else None,
        now=now,
    )
    if upgrade is not None:
        upgrade_recorded(upgrade, now=now, merchant=merchant)
    order_events_emit(
        merchant=merchant,
        shopper_external_id=shopper.external_id,
        paid_at=paid_at,
        response=response,
        now=now,
    )
    return PurchaseResult(response=response, created=True)


def points_for(*, total: Decimal, program, tier: Tier | None) -> int:
    multiplier = tier.earn_multiplier if tier is not None else Decimal("1")
    return int((total * program.points_per_unit * multiplier).to_integral_value(rounding=ROUND_FLOOR))

"""The purchase pipeline: an order in, and everything it earns, in one transaction.

``purchase_record`` is the only way an order enters Fanbase. A reader can follow an
order from here to every row it writes:

1. the shopper (created on first sight) and, for a member, the locked points account
   and membership (one query, with tier and program);
2. the products by sku (all of this merchant, or the order is refused);
3. the coupons given, locked and checked (any rejection refuses the whole order);
4. the repurchase coupon, on a shopper's first order with the merchant, member or not
   (on a member's first order as a member when the program says members only), at
   once or promised for later;
5. the order and its lines, with the answer stored for replays; the coupons redeemed;
6. points earned on the total after discounts:
   ``floor(total * points_per_unit * tier multiplier)``, members only;
7. the tier upgrade when the rolling 12-month spend reaches a higher tier (skipped,
   without a statement, when the member is in the top tier already);
8. the "frequently purchased" statistics (``storefront.services.stats``);
9. the fan score: the order is attributed to ``via_account`` or, without one, the
   brand account (stored on the order), and the policy's purchase weight goes onto the
   buyer's score with that account (docs/iron-fans.md), in one statement.

The shopper's preferences (the products' categories and tags) are folded in from the
committed order by ``storefront.services.preferences.preferences_fold_orders``, a
minute later at most: the order's 12 statements have no room for their upsert.

Idempotency: ``(merchant, external_id)`` is unique. A replay of the same body returns
the stored answer; another body under that id is a conflict. Two identical requests
racing both try to insert; the loser fails on the unique constraint (or on its coupon,
now used by the winner) and answers as a replay of the winner's order.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef
from django.utils import timezone

from core.errors import DomainError
from core.fields import column_range
from core.fingerprint import request_fingerprint
from coupons import errors as coupon_errors
from coupons import rules as coupon_rules
from coupons import selectors as coupon_selectors
from coupons.locks import coupons_lock_by_code
from coupons.models import Coupon
from coupons.services.issuing import coupon_issue
from coupons.services.redemption import coupons_redeem
from coupons.services.scheduled import coupon_schedule
from loyalty import errors
from loyalty.locks import points_accounts_lock
from loyalty.models import PointsAccount, PointsEntry, Program
from loyalty.services.memberships import points_account_open, program_get_or_create
from loyalty.services.points import lot_expiry, points_credit_locked
from members import selectors as members_selectors
from members import services as members_services
from members.engagement import selectors as engagement_selectors
from members.engagement.services import purchase_score_add
from members.models import Account, Membership, Merchant, Tier
from storefront.models import Order, OrderLine, Product
from storefront.rules import MAX_CLOCK_SKEW, order_amount_check, paid_at_check
from storefront.selectors import products_by_sku, shopper_has_ordered
from storefront.services.stats import purchase_stats_record

ROLLING_SPEND_WINDOW = timedelta(days=365)
# What the pipeline reads with the locked points account, in the same query.
MEMBER_ROWS = (
    "membership__shopper",
    "membership__tier",
    "membership__merchant__program__repurchase_template",
)
# What a points column holds (64-bit). An order is never refused for the points it would
# earn: past this, it earns what is left to the limit.
MAX_POINTS = column_range(PointsAccount._meta.get_field("balance"))[1]
# points_reason of an order that earned nothing because the shopper is not an active member.
NOT_A_MEMBER = "not_a_member"


@dataclass(frozen=True)
class OrderLineInput:
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class OrderInput:
    external_id: str
    shopper: str
    lines: tuple[OrderLineInput, ...]
    paid_at: datetime | None = None
    via_account: str | None = None
    coupon_codes: tuple[str, ...] = field(default_factory=tuple)

    def fingerprint(self) -> str:
        """A hash of the order as the merchant stated it; line order does not matter."""
        canonical = {
            "external_id": self.external_id,
            "shopper": self.shopper,
            "paid_at": self.paid_at.isoformat() if self.paid_at else None,
            "via_account": self.via_account,
            "lines": sorted(
                [line.sku, line.quantity, str(line.unit_price.normalize())] for line in self.lines
            ),
            "coupon_codes": list(self.coupon_codes),
        }
        return request_fingerprint(canonical)


@dataclass(frozen=True)
class PurchaseResult:
    response: dict
    created: bool


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

    account = _member_points_account(merchant=merchant, shopper_external_id=order.shopper)
    if account is not None:
        membership = account.membership
        shopper = membership.shopper
    else:
        shopper = members_services.shopper_get_or_create(external_id=order.shopper)
        account = _open_points_account(merchant=merchant, shopper_id=shopper.pk)
        membership = account.membership if account is not None else None
    products = products_by_sku(merchant=merchant, skus=[line.sku for line in order.lines])
    via_account = _via_account(merchant=merchant, handle=order.via_account, shopper_id=shopper.pk)
    attribution = _attribution(
        merchant=merchant, shopper_id=shopper.pk, via_account=via_account, account=account
    )
    redeemed, subtotal, discount = _check_coupons(
        merchant=merchant, order=order, shopper_id=shopper.pk, products=products, now=now
    )
    total = subtotal - discount
    order_amount_check(subtotal)

    is_member = membership is not None and membership.status == Membership.Status.ACTIVE
    program = _program(merchant=merchant, account=account)
    points = points_for(total=total, program=program, tier=membership.tier) if is_member else 0
    if is_member:
        points = min(points, MAX_POINTS - max(account.balance, account.lifetime_earned, 0))
    first_order = is_member and account.first_order_at is None
    repurchase = _earns_repurchase_coupon(
        program=program,
        merchant=merchant,
        shopper_id=shopper.pk,
        first_member_order=first_order,
        is_member=is_member,
    )
    issued = (
        _repurchase_coupon(program=program, merchant=merchant, shopper_id=shopper.pk, now=now)
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
        "coupons_issued": [_issued_coupon_answer(issued)] if issued else [],
    }
    new_order = Order.objects.create(
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
        payload_hash=fingerprint,
        response=response,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=new_order, product=products[line.sku], quantity=line.quantity, unit_price=line.unit_price
        )
        for line in order.lines
    )
    coupons_redeem(coupons=redeemed, order=new_order, now=now)
    if points > 0:
        points_credit_locked(
            account=account,
            points=points,
            kind=PointsEntry.Kind.EARN,
            order=new_order,
            reason="points for an order",
            now=now,
            expires_at=lot_expiry(program=program, now=now),
            first_order_at=now if first_order else None,
        )
    elif first_order:
        PointsAccount.objects.filter(pk=account.pk).update(first_order_at=now)
    if is_member and _higher_tier_exists(membership=membership, top_rank=account.top_tier_rank):
        _upgrade_tier(membership=membership, now=now)
    purchase_stats_record(
        shopper_id=shopper.pk,
        merchant_id=merchant.pk,
        lines=[(products[line.sku].pk, line.quantity) for line in order.lines],
        at=paid_at,
    )
    if attribution.account_id is not None:
        purchase_score_add(
            merchant_id=merchant.pk,
            shopper_id=shopper.pk,
            account_id=attribution.account_id,
            occurred_at=paid_at,
            follows=attribution.follows,
        )
    return PurchaseResult(response=response, created=True)


def points_for(*, total: Decimal, program, tier: Tier | None) -> int:
    multiplier = tier.earn_multiplier if tier is not None else Decimal("1")
    return int((total * program.points_per_unit * multiplier).to_integral_value(rounding=ROUND_FLOOR))


def _member_points_account(*, merchant: Merchant, shopper_external_id: str) -> PointsAccount | None:
    """The shopper's points account and membership with this merchant, both locked.

    The membership's lock is the one every coupon issue to this shopper takes, so the
    repurchase coupon respects the per-member limit; the account's guards the ledger.
    """
    return _locked_member_account(
        membership__merchant=merchant, membership__shopper__external_id=shopper_external_id
    )


def _open_points_account(*, merchant: Merchant, shopper_id: int) -> PointsAccount | None:
    """A member whose points account was never opened (a membership from before the
    ledger, or made by hand) gets one now; a non-member gets none."""
    membership = Membership.objects.filter(merchant=merchant, shopper_id=shopper_id).only("pk").first()
    if membership is None:
        return None
    points_account_open(membership=membership)
    return _locked_member_account(membership=membership)


def _locked_member_account(**lookup) -> PointsAccount | None:
    return (
        points_accounts_lock(with_membership=True)
        .select_related(*MEMBER_ROWS)
        .annotate(
            # Read in the same statement, so the order's attribution and its tier
            # check cost no statement of their own.
            brand_account_id=engagement_selectors.brand_account_id(
                merchant=OuterRef("membership__merchant_id")
            ),
            follows_brand=engagement_selectors.follows_brand(
                shopper=OuterRef("membership__shopper_id"), merchant=OuterRef("membership__merchant_id")
            ),
            top_tier_rank=members_selectors.tier_top_rank(merchant=OuterRef("membership__merchant_id")),
        )
        .filter(**lookup)
        .first()
    )


def _program(*, merchant: Merchant, account: PointsAccount | None) -> Program:
    if account is not None:
        try:
            return account.membership.merchant.program
        except Merchant.program.RelatedObjectDoesNotExist:
            pass
    return program_get_or_create(merchant_id=merchant.pk)


def _via_account(*, merchant: Merchant, handle: str | None, shopper_id: int) -> Account | None:
    """The account the merchant says brought the order, with whether the buyer follows it."""
    if not handle:
        return None
    account = (
        Account.objects.filter(merchant=merchant, handle=handle)
        .annotate(followed=engagement_selectors.follows_account(shopper=shopper_id, account=OuterRef("pk")))
        .first()
    )
    if account is None:
        raise errors.UnknownViaAccount(attr="via_account")
    return account


@dataclass(frozen=True)
class Attribution:
    account_id: int | None  # None: the merchant has no brand account
    follows: bool  # whether the buyer follows it (SQLite's purchase statement needs it)


def _attribution(
    *, merchant: Merchant, shopper_id: int, via_account: Account | None, account: PointsAccount | None
) -> Attribution:
    """The account the order counts for: ``via_account``, else the brand account.

    Read with the rows the pipeline reads anyway (the via account, the member's locked
    account); only a non-member's order without ``via_account`` takes a query for it.
    """
    if via_account is not None:
        return Attribution(via_account.pk, via_account.followed)
    if account is not None:
        return Attribution(account.brand_account_id, account.follows_brand)
    brand = engagement_selectors.brand_account_for(merchant=merchant, shopper_id=shopper_id)
    return Attribution(*brand) if brand else Attribution(None, False)


def _higher_tier_exists(*, membership: Membership, top_rank: int | None) -> bool:
    """Can the member move up at all? Not without tiers, nor from the top one."""
    if top_rank is None:
        return False
    return membership.tier is None or membership.tier.rank < top_rank


def _check_coupons(
    *, merchant: Merchant, order: OrderInput, shopper_id: int, products: dict[str, Product], now: datetime
) -> tuple[list[Coupon], Decimal, Decimal]:
    """Lock the order's coupons and apply the rules; any rejection refuses the order."""
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


def _earns_repurchase_coupon(
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


def _repurchase_coupon(
    *, program: Program, merchant: Merchant, shopper_id: int, now: datetime
) -> Coupon | None:
    """A first order earns a coupon for the next one, now or after a delay.

    A coupon that cannot be issued (stock out, limit reached, template off) does not
    refuse the order: the shopper simply gets none. Two first orders of one shopper
    racing may both get here; the per-shopper limit (``coupon_issue``) keeps them to
    what the template allows.
    """
    template = program.repurchase_template
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


def _issued_coupon_answer(coupon: Coupon) -> dict:
    return {"code": coupon.code, "template": coupon.template_id, "expires_at": api_time(coupon.expires_at)}


def api_time(moment: datetime) -> str:
    """The API's one time format, ``2026-12-01T10:00:00Z``, for answers stored as JSON."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _upgrade_tier(*, membership: Membership, now: datetime) -> None:
    """Move the member up to the highest tier their rolling 12-month spend reaches.

    One statement, in SQL: built with the ORM's nested subqueries it cost about half of
    an order's CPU to compile (docs/performance.md). The order's own points were earned
    at the tier it was placed in; the new tier's multiplier applies from the next order.
    Tiers only go up here.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            TIER_UPGRADE_SQL,
            {
                "membership": membership.pk,
                "merchant": membership.merchant_id,
                "shopper": membership.shopper_id,
                "since": connection.ops.adapt_datetimefield_value(now - ROLLING_SPEND_WINDOW),
                "now": connection.ops.adapt_datetimefield_value(now + MAX_CLOCK_SKEW),
            },
        )


TIER_UPGRADE_SQL = f"""
    UPDATE {Membership._meta.db_table} AS m SET tier_id = reached.id
    FROM (
        SELECT id, rank FROM {Tier._meta.db_table}
        WHERE merchant_id = %(merchant)s AND min_spend_12m <= COALESCE(
            (SELECT SUM(total - refunded_amount) FROM {Order._meta.db_table}
             WHERE merchant_id = %(merchant)s AND shopper_id = %(shopper)s
               AND paid_at >= %(since)s AND paid_at <= %(now)s), 0)
        ORDER BY rank DESC LIMIT 1
    ) AS reached
    WHERE m.id = %(membership)s
      AND (m.tier_id IS NULL OR (SELECT rank FROM {Tier._meta.db_table} WHERE id = m.tier_id) < reached.rank)
"""

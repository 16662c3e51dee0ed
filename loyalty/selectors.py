"""Reads assembled at the top: the wallet, the points ledger, the member list."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import BooleanField, Case, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from coupons import selectors as coupon_selectors
from coupons.models import Coupon
from coupons.rules import CartLine, in_scope
from loyalty import errors
from loyalty.models import PointsEntry, Program
from members import selectors as members_selectors
from members.engagement.selectors import fan_policy_get
from members.errors import MembershipNotFound, ShopperNotFound
from members.models import Membership, Merchant, Shopper
from storefront import selectors as storefront_selectors
from storefront.feed import FeedItem
from storefront.models import Order, PurchaseStat


def program_get(*, merchant: Merchant) -> Program:
    """The merchant's program. Onboarding creates it; a merchant made another way (in
    the admin) reads the defaults until its first change saves them."""
    # With the rollout settings, which the program API shows beside the points terms.
    program = Program.objects.filter(merchant=merchant).select_related("merchant__rollout_policy").first()
    return program or Program(merchant=merchant)


def program_with_fan_policy(*, merchant: Merchant) -> Program:
    """The program with the merchant's fan policy (members) as ``fan_policy_settings``."""
    program = program_get(merchant=merchant)
    program.fan_policy_settings = fan_policy_get(merchant=merchant)
    return program


def wallet(*, shopper: Shopper, now: datetime) -> list[Membership]:
    """The shopper's active memberships with tier, balance, iron-fan flag and usable coupons.

    Two queries whatever the number of memberships: the cards (with the points that
    expire within ``EXPIRING_SOON_DAYS`` and the first date some do), and the coupon counts.
    """
    memberships = list(
        Membership.objects.filter(shopper=shopper, status=Membership.Status.ACTIVE)
        .select_related("merchant", "tier")
        .annotate(**_points_columns())
        .annotate(**_expiring_soon_columns(now=now))
        .annotate(is_iron_fan=F("iron_fan"))
        .order_by("merchant__name", "id")
    )
    counts = coupon_selectors.usable_counts_by_merchant(shopper=shopper, now=now) if memberships else {}
    for membership in memberships:
        membership.usable_coupons = counts.get(membership.merchant_id, 0)
    return memberships


def frequently_purchased_details(*, shopper: Shopper, stats: list[PurchaseStat], now: datetime) -> None:
    """Add ``due_again`` and the repurchase coupon that covers it to each row of a page.

    At most three queries for the page: purchase times, usable repurchase coupons,
    and the product lists of product-scoped templates.
    """
    due = storefront_selectors.purchase_due_again(shopper=shopper, stats=stats)
    coupons = coupon_selectors.usable_repurchase_coupons(
        shopper=shopper, merchant_ids={s.merchant_id for s in stats}, now=now
    )
    product_ids = coupon_selectors.template_product_ids(coupons=coupons)
    for stat in stats:
        stat.due_again = due.get(stat.product_id)
        line = CartLine.of(stat.product, quantity=1, unit_price=stat.product.price)
        stat.coupon = next(
            (
                c
                for c in coupons
                if c.merchant_id == stat.merchant_id
                and in_scope(c.template, line, product_ids.get(c.template_id, frozenset()))
            ),
            None,
        )


def points_entry_list(*, shopper: Shopper, merchant: Merchant, now: datetime) -> QuerySet[PointsEntry]:
    """A member's ledger, newest first. Former members keep seeing their history.

    ``expiring_soon`` marks the lots with points left that expire within
    ``EXPIRING_SOON_DAYS`` of ``now`` (or are past their date, awaiting the nightly expiry).
    """
    found = (
        Membership.objects.filter(shopper=shopper, merchant=merchant).values_list("points_account").first()
    )
    if found is None:
        raise MembershipNotFound()
    # By the account's id, so the page is read in order from ``pointsentry_account_recent``.
    (account_id,) = found
    entries = PointsEntry.objects.filter(account_id=account_id) if account_id else PointsEntry.objects.none()
    return entries.select_related("order", "refund").annotate(
        expiring_soon=Case(
            When(_expiring_by(now), then=Value(True)), default=Value(False), output_field=BooleanField()
        )
    )


def _expiring_by(now: datetime, prefix: str = "") -> Q:
    by = now + timedelta(days=EXPIRING_SOON_DAYS)
    return Q(
        **{f"{prefix}remaining__gt": 0, f"{prefix}expires_at__isnull": False, f"{prefix}expires_at__lte": by}
    )


def _expiring_soon_columns(*, now: datetime) -> dict:
    """A membership's points expiring within ``EXPIRING_SOON_DAYS`` and the first date some
    do (null when none): two subqueries on ``pointsentry_open_lots``, in the same query."""
    lots = PointsEntry.objects.filter(_expiring_by(now), account__membership_id=OuterRef("pk"))
    total = lots.order_by().values("account_id").annotate(n=Sum("remaining")).values("n")
    return {
        "points_expiring_soon": Coalesce(Subquery(total), 0),
        "points_expiring_next_at": Subquery(lots.order_by("expires_at").values("expires_at")[:1]),
    }


def membership_list(*, shopper: Shopper) -> QuerySet[Membership]:
    """The shopper's memberships, active and left (``membership_unique_shopper_merchant``)."""
    return Membership.objects.filter(shopper=shopper).select_related("merchant", "tier")


def member_list(*, merchant: Merchant, iron_fan: bool | None = None, tier: str | None = None) -> QuerySet:
    return members_selectors.member_list(merchant=merchant, iron_fan=iron_fan, tier=tier).annotate(
        **_points_columns()
    )


def _points_columns() -> dict:
    """A membership's balance and lifetime points, 0 when its points account was never opened
    (a membership from before the ledger): the contract's integers, never null."""
    return {
        "points_balance": Coalesce("points_account__balance", 0),
        "lifetime_points": Coalesce("points_account__lifetime_earned", 0),
    }


def merchant_order_list(*, merchant: Merchant, **filters) -> QuerySet[Order]:
    """The merchant's orders as the shop system reads them back: with lines, refunds and the
    coupons they redeemed; four queries a page whatever its length."""
    return storefront_selectors.order_list(merchant=merchant, **filters).prefetch_related("coupons")


def merchant_order_get(*, merchant: Merchant, external_id: str) -> Order:
    order = merchant_order_list(merchant=merchant).filter(external_id=external_id).first()
    if order is None:
        raise errors.OrderNotFound()
    return order


EXPIRING_SOON_DAYS = 30
RECENT_ORDERS = 5
MEMBER_VIEW_COUPONS = 50


@dataclass
class MemberView:
    """What the shop system sees of one shopper at this merchant (``GET /merchant/shoppers/{id}``)."""

    shopper: Shopper
    membership: Membership | None
    points_balance: int
    lifetime_points: int
    points_expiring_soon: int
    points_expiring_by: datetime
    usable_coupons: list
    follows: list
    recent_orders: list


def member_view(*, merchant: Merchant, external_id: str, now: datetime) -> MemberView:
    """The member view in six queries. A shopper with no tie to this merchant (no membership,
    follow, order or coupon here) is not found: merchants see only their own customers."""
    shopper = shopper_of_merchant(merchant=merchant, external_id=external_id)
    membership = (
        Membership.objects.filter(shopper=shopper, merchant=merchant)
        .select_related("tier", "points_account")
        .first()
    )
    account = getattr(membership, "points_account", None) if membership is not None else None
    expiring_by = now + timedelta(days=EXPIRING_SOON_DAYS)
    expiring = 0
    if account is not None:
        expiring = PointsEntry.objects.filter(
            account=account, remaining__gt=0, expires_at__isnull=False, expires_at__lte=expiring_by
        ).aggregate(n=Coalesce(Sum("remaining"), 0))["n"]
    coupons = list(
        coupon_selectors.coupon_list(shopper=shopper, now=now, merchant=merchant, state="usable").order_by(
            "expires_at", "id"
        )[:MEMBER_VIEW_COUPONS]
    )
    follows = list(
        members_selectors.follow_list(shopper=shopper)
        .filter(account__merchant=merchant)
        .order_by("account__handle")
    )
    orders = list(storefront_selectors.recent_orders(merchant=merchant, shopper=shopper, limit=RECENT_ORDERS))
    return MemberView(
        shopper=shopper,
        membership=membership,
        points_balance=account.balance if account is not None else 0,
        lifetime_points=account.lifetime_earned if account is not None else 0,
        points_expiring_soon=expiring,
        points_expiring_by=expiring_by,
        usable_coupons=coupons,
        follows=follows,
        recent_orders=orders,
    )


def shopper_of_merchant(*, merchant: Merchant, external_id: str) -> Shopper:
    """A shopper this merchant knows: a member or fan of it, a buyer of its, or a holder of
    its coupons. Another merchant's shopper is 404, as if unknown."""
    shopper = (
        Shopper.objects.filter(external_id=external_id)
        .filter(
            Exists(Membership.objects.filter(shopper=OuterRef("pk"), merchant=merchant))
            | Exists(Order.objects.filter(shopper=OuterRef("pk"), merchant=merchant))
            | Exists(Coupon.objects.filter(shopper=OuterRef("pk"), merchant=merchant))
            | Exists(members_selectors.follows_of_merchant(merchant=merchant).filter(shopper=OuterRef("pk")))
        )
        .first()
    )
    if shopper is None:
        raise ShopperNotFound()
    return shopper


def feed_details(*, shopper: Shopper, products: list[FeedItem], now: datetime) -> None:
    """Add to each feed product a usable coupon of its merchant whose scope covers it.

    One query for the page (``coupons.selectors.usable_coupons_shown``: the coupons with
    their terms and the product lists of product-scoped templates); the coupon that
    expires first wins. A coupon's minimum spend is a matter of the cart, not of the
    product, so it does not hide a coupon here.
    """
    coupons = coupon_selectors.usable_coupons_shown(
        shopper=shopper, merchant_ids={product.merchant_id for product in products}, now=now
    )
    by_merchant = defaultdict(list)
    for coupon in coupons:
        by_merchant[coupon.merchant_id].append(coupon)
    for product in products:
        line = CartLine.of(product, quantity=1, unit_price=product.price)
        held = by_merchant.get(product.merchant_id, ())
        product.coupon = next((c for c in held if in_scope(c.template, line, c.product_ids)), None)

"""Reads assembled at the top: the wallet, the points ledger, the member list."""

import functools
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from core.sql import column, table
from coupons import selectors as coupon_selectors
from coupons.models import Coupon
from coupons.rules import CartLine, in_scope
from loyalty import errors
from loyalty.models import PointsAccount, PointsEntry, Program
from loyalty.wallet import WalletCard, wallet_cards
from members import selectors as members_selectors
from members.engagement.selectors import fan_policy_get
from members.errors import ShopperNotFound
from members.models import Membership, Merchant, Shopper, Tier
from storefront import selectors as storefront_selectors
from storefront.feed import FeedItem
from storefront.models import Order


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


def wallet(*, shopper: Shopper, now: datetime) -> list[WalletCard]:
    """The shopper's active memberships with tier, balance, the points that expire within
    ``EXPIRING_SOON_DAYS`` and the first date some do, usable coupons and iron-fan flag.

    One statement whatever the number of cards or coupons (``loyalty.wallet``): written
    out, because the queryset's compile and a second statement for the coupon counts cost
    more CPU than PostgreSQL spent on them.
    """
    return wallet_cards(shopper=shopper, now=now, expiring_by=now + timedelta(days=EXPIRING_SOON_DAYS))


def _expiring_by(now: datetime, prefix: str = "") -> Q:
    by = now + timedelta(days=EXPIRING_SOON_DAYS)
    return Q(
        **{f"{prefix}remaining__gt": 0, f"{prefix}expires_at__isnull": False, f"{prefix}expires_at__lte": by}
    )


def membership_list(*, shopper: Shopper) -> QuerySet[Membership]:
    """The shopper's memberships, active and left (``membership_unique_shopper_merchant``)."""
    return Membership.objects.filter(shopper=shopper).select_related("merchant", "tier")


@dataclass(slots=True)
class MemberRow:
    """One member of the merchant's member list, as ``member_page`` reads it (no model
    instances: the list is read often and only shown)."""

    id: int
    shopper_external_id: str
    shopper_display_name: str
    number: int
    tier_name: str | None
    tier_since: datetime | None
    joined_at: datetime
    iron_fan: bool
    points_balance: int
    lifetime_points: int


# The member list's order, newest first; its cursor is this key (``core.pagination.Keyset``).
MEMBER_PAGE_KEY = [Membership._meta.get_field("id")]


def member_page(
    *, merchant: Merchant, keyset, iron_fan: bool | None = None, tier_id: int | None = None
) -> list[MemberRow]:
    """One page of the merchant's active members (``keyset``: the page asked for), with their
    tier, the membership's iron-fan flag and points (0 when the points account was never
    opened: a membership from before the ledger).

    One statement, written out: as a queryset its compile cost more CPU than PostgreSQL
    spent on it. It reads in order from one index and never counts (docs/performance.md,
    "Member list: EXPLAIN"): ``membership_merchant_recent``, ``membership_active_tier`` for
    ``tier_id``, the partial ``membership_active_iron_fans`` for ``iron_fan=True``. The
    filters are spelled as the ORM spells them (``m.iron_fan``, ``NOT m.iron_fan``) so that
    PostgreSQL proves the partial index's predicate from them.
    """
    head, key = _member_page_sql(iron_fan=iron_fan, tiered=tier_id is not None)
    params = [merchant.pk, Membership.Status.ACTIVE, *([] if tier_id is None else [tier_id])]
    return [MemberRow(*values) for values in keyset.read(head, params, key=[key], fields=_MEMBER_FIELDS)]


# The statement's columns, as ``MemberRow`` lists them: (table alias, model, field name);
# the points are COALESCEd to 0 (the contract's integers, never null).
_MEMBER_COLUMNS = (
    ("m", Membership, "id"),
    ("s", Shopper, "external_id"),
    ("s", Shopper, "display_name"),
    ("m", Membership, "number"),
    ("t", Tier, "name"),
    ("m", Membership, "tier_since"),
    ("m", Membership, "joined_at"),
    ("m", Membership, "iron_fan"),
    ("pa", PointsAccount, "balance"),
    ("pa", PointsAccount, "lifetime_earned"),
)
_MEMBER_FIELDS = [model._meta.get_field(name) for _, model, name in _MEMBER_COLUMNS]
_COALESCED = {"balance", "lifetime_earned"}


@functools.cache
def _member_page_sql(*, iron_fan: bool | None, tiered: bool) -> tuple[str, str]:
    """The page statement of ``member_page`` for one set of filters, up to its WHERE's
    filters (the keyset's condition, ORDER BY and LIMIT follow), and the key's column.
    Parameters: the merchant, the active status, the tier if ``tiered``."""

    selected = []
    for alias, model, name in _MEMBER_COLUMNS:
        value = f"{alias}.{column(model, name)}"
        selected.append(f"COALESCE({value}, 0)" if name in _COALESCED else value)
    filters = [f"m.{column(Membership, 'merchant')} = %s", f"m.{column(Membership, 'status')} = %s"]
    if tiered:
        filters.append(f"m.{column(Membership, 'tier')} = %s")
    if iron_fan is not None:
        flag = f"m.{column(Membership, 'iron_fan')}"
        filters.append(flag if iron_fan else f"NOT {flag}")
    key = f"m.{column(Membership, 'id')}"
    head = (
        f"SELECT {', '.join(selected)} FROM {table(Membership)} m"
        f" JOIN {table(Shopper)} s ON s.{column(Shopper, 'id')} = m.{column(Membership, 'shopper')}"
        f" LEFT JOIN {table(Tier)} t ON t.{column(Tier, 'id')} = m.{column(Membership, 'tier')}"
        f" LEFT JOIN {table(PointsAccount)} pa ON pa.{column(PointsAccount, 'membership')} = {key}"
        f" WHERE {' AND '.join(filters)}"
    )
    return head, key


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

"""``purchase_record``, the service: its statement budget and what it writes for a member."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.models import PointsEntry
from loyalty.services.memberships import membership_enrol
from loyalty.services.purchases import purchase_record
from storefront.models import Order, PurchaseStat
from tests.loyalty.conftest import order_input, points_account
from tests.loyalty.factories import ProgramFactory
from tests.members.factories import (
    AccountFactory,
    FollowFactory,
    MerchantFactory,
    ShopperFactory,
    TierFactory,
)
from tests.storefront.factories import ProductFactory

# The budget for a member's 3-line order, transaction control included.
MEMBER_ORDER_STATEMENTS = 12
THREE_LINES = [("S0", 2, "10.00"), ("S1", 1, "5.00"), ("S2", 3, "1.50")]


def test_a_members_three_line_order_takes_at_most_twelve_statements(transactional_db):
    # given: a member in a tier, with a program and a catalog, and a first order already
    # behind them (so the count is the steady state, not a first purchase)
    merchant = MerchantFactory()
    brand = AccountFactory(merchant=merchant, kind="brand", handle=merchant.slug)
    ProgramFactory(merchant=merchant, points_per_unit=Decimal("1"))
    TierFactory(merchant=merchant, rank=1, min_spend_12m=0)
    TierFactory(merchant=merchant, rank=2, min_spend_12m=Decimal("1000"), earn_multiplier=Decimal("2"))
    for sku in ("S0", "S1", "S2"):
        ProductFactory(merchant=merchant, sku=sku)
    shopper = ShopperFactory()
    fan = FollowFactory(shopper=shopper, account=brand)
    membership = membership_enrol(shopper=shopper, merchant=merchant).membership
    purchase_record(merchant=merchant, order=order_input(shopper.external_id, "o-0", lines=THREE_LINES))

    # when
    with CaptureQueriesContext(connection) as statements:
        result = purchase_record(
            merchant=merchant, order=order_input(shopper.external_id, "o-1", lines=THREE_LINES)
        )

    # then
    assert result.created
    assert result.response["points_earned"] == 29
    assert len(statements) <= MEMBER_ORDER_STATEMENTS, "\n".join(q["sql"] for q in statements)
    assert points_account(membership).balance == 58
    assert PurchaseStat.objects.get(shopper=shopper, product__sku="S2").times_purchased == 2
    fan.refresh_from_db()
    assert fan.score == pytest.approx(40.0)  # two purchases of weight 20, a moment apart


def test_the_first_order_of_a_member_is_within_the_budget_too(transactional_db):
    merchant = MerchantFactory()
    ProgramFactory(merchant=merchant)
    for sku in ("S0", "S1", "S2"):
        ProductFactory(merchant=merchant, sku=sku)
    shopper = ShopperFactory()
    membership_enrol(shopper=shopper, merchant=merchant)

    with CaptureQueriesContext(connection) as statements:
        purchase_record(merchant=merchant, order=order_input(shopper.external_id, lines=THREE_LINES))

    assert len(statements) <= MEMBER_ORDER_STATEMENTS, "\n".join(q["sql"] for q in statements)


def test_an_order_that_lifts_the_member_a_tier_is_within_the_budget_too(transactional_db):
    # given: a member in the entry tier, one order short of the next
    merchant = MerchantFactory()
    ProgramFactory(merchant=merchant)
    TierFactory(merchant=merchant, rank=1, min_spend_12m=0)
    gold = TierFactory(merchant=merchant, rank=2, min_spend_12m=Decimal("20"))
    for sku in ("S0", "S1", "S2"):
        ProductFactory(merchant=merchant, sku=sku)
    shopper = ShopperFactory()
    membership = membership_enrol(shopper=shopper, merchant=merchant).membership
    purchase_record(
        merchant=merchant, order=order_input(shopper.external_id, "o-0", lines=[("S0", 1, "1.00")])
    )

    with CaptureQueriesContext(connection) as statements:
        purchase_record(merchant=merchant, order=order_input(shopper.external_id, "o-1", lines=THREE_LINES))

    membership.refresh_from_db()
    assert membership.tier == gold
    sql = [q["sql"] for q in statements]
    assert len(sql) <= MEMBER_ORDER_STATEMENTS, "\n".join(sql)
    # an upgrade is up by definition, and the order holds its merchant: neither is read again
    assert not [q for q in sql if 'FROM "members_tier"' in q or 'FROM "members_merchant"' in q], "\n".join(
        sql
    )


def test_an_order_writes_one_earn_lot_tied_to_the_order(member, shopper, merchant):
    purchase_record(merchant=merchant, order=order_input(shopper.external_id))

    order = Order.objects.get(external_id="o-1")
    lot = PointsEntry.objects.get(kind="earn")
    assert (lot.order, lot.delta, lot.remaining, lot.account) == (order, 24, 24, points_account(member))
    assert order.points_earned == 24


def test_points_per_unit_zero_earns_nothing_and_writes_no_entry(member, shopper, merchant, program):
    program.points_per_unit = Decimal("0")
    program.save()

    result = purchase_record(merchant=merchant, order=order_input(shopper.external_id))

    assert result.response["points_earned"] == 0
    assert not PointsEntry.objects.exists()
    assert Order.objects.filter(external_id="o-1").exists()

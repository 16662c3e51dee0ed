"""``purchase_record``, the service: its statement budget and what it writes for a member."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from psycopg import _queries

from loyalty.models import PointsEntry, TierChange
from loyalty.services.memberships import membership_enrol
from loyalty.services.purchases import purchase_record
from storefront.models import Order, PurchaseStat
from tests.conftest import requires_postgres
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


def tiered_fan():
    """A member in a tier who follows the brand account, with a program, a catalog and a
    first order already behind them (so a count is the steady state, not a first purchase)."""
    merchant = MerchantFactory()
    brand = AccountFactory(merchant=merchant, kind="brand", handle=merchant.slug)
    ProgramFactory(merchant=merchant, points_per_unit=Decimal("1"))
    TierFactory(merchant=merchant, rank=1, min_spend_12m=0)
    TierFactory(merchant=merchant, rank=2, min_spend_12m=Decimal("1000"), earn_multiplier=Decimal("2"))
    for sku in ("S0", "S1", "S2"):  # tagged: each tag is a preference the order adds
        ProductFactory(merchant=merchant, sku=sku, tags=[f"{sku}-a", f"{sku}-b", f"{sku}-c"])
    shopper = ShopperFactory()
    fan = FollowFactory(shopper=shopper, account=brand)
    membership = membership_enrol(shopper=shopper, merchant=merchant).membership
    purchase_record(merchant=merchant, order=order_input(shopper.external_id, "o-0", lines=THREE_LINES))
    return merchant, shopper, membership, fan


def test_a_members_three_line_order_takes_at_most_twelve_statements(transactional_db):
    # given
    merchant, shopper, membership, fan = tiered_fan()

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


@requires_postgres
def test_an_orders_statements_are_the_same_texts_for_any_number_of_lines_and_fit_psycopgs_parse_cache(
    transactional_db,
):
    # A connection prepares a statement it has run DB_PREPARE_THRESHOLD times, which only
    # happens when the text repeats; psycopg parses a text once only up to 4,096 bytes
    # and 50 parameters (psycopg._queries): past that, 0.4 ms of Python on every order.
    merchant, shopper, _, _ = tiered_fan()
    runs = []
    for external_id, lines in (("o-1", THREE_LINES), ("o-2", THREE_LINES[:2])):
        executed = []

        def record(execute, sql, params, many, context, executed=executed):
            executed.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            purchase_record(
                merchant=merchant, order=order_input(shopper.external_id, external_id, lines=lines)
            )
        runs.append(executed)

    assert [sql for sql, _ in runs[0]] == [sql for sql, _ in runs[1]]
    # the member row, the order with its lines, and the points, the tier update (a higher
    # tier exists) and every other side effect in one
    assert len(runs[0]) == 3, "\n".join(sql for sql, _ in runs[0])
    for sql, params in runs[0]:
        assert len(sql.encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH, sql
        assert len(params or ()) <= _queries.MAX_CACHED_STATEMENT_PARAMS, sql


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


def member_one_order_short_of_gold():
    """A member in the entry tier (bronze), one order short of gold (no reward, earns double)."""
    merchant = MerchantFactory()
    ProgramFactory(merchant=merchant)
    bronze = TierFactory(merchant=merchant, rank=1, min_spend_12m=0)
    gold = TierFactory(merchant=merchant, rank=2, min_spend_12m=Decimal("20"), earn_multiplier=Decimal("2"))
    for sku in ("S0", "S1", "S2"):
        ProductFactory(merchant=merchant, sku=sku)
    shopper = ShopperFactory()
    membership = membership_enrol(shopper=shopper, merchant=merchant).membership
    purchase_record(
        merchant=merchant, order=order_input(shopper.external_id, "o-0", lines=[("S0", 1, "1.00")])
    )
    return merchant, shopper, membership, bronze, gold


def test_an_order_that_lifts_the_member_a_tier_is_within_the_budget_too(transactional_db):
    merchant, shopper, membership, _, gold = member_one_order_short_of_gold()

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
    # gold has no reward, which the upgrade's own statement says: no reward is looked up
    assert not [q for q in sql if q.lstrip().startswith("SELECT") and "loyalty_tierreward" in q], "\n".join(
        sql
    )


@requires_postgres
def test_an_order_that_lifts_the_member_to_a_tier_without_a_reward_writes_the_move_in_its_side_effects(
    transactional_db,
):
    merchant, shopper, membership, bronze, gold = member_one_order_short_of_gold()

    with CaptureQueriesContext(connection) as statements:
        purchase_record(merchant=merchant, order=order_input(shopper.external_id, "o-1", lines=THREE_LINES))

    # the member row, the order with its lines, and everything else with the move in one
    sql = [q["sql"] for q in statements if q["sql"] not in ("BEGIN", "COMMIT")]
    assert len(sql) == 3, "\n".join(sql)
    membership.refresh_from_db()
    assert membership.tier == gold
    order = Order.objects.get(external_id="o-1")
    assert membership.tier_since == order.created_at
    change = TierChange.objects.get(membership=membership)
    assert (change.from_tier, change.to_tier, change.reason, change.note) == (bronze, gold, "upgrade", "")
    assert (change.coupon, change.created_by, change.at) == (None, None, order.created_at)
    assert points_account(membership).balance == 1 + 29  # earned at bronze's multiplier, not gold's


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

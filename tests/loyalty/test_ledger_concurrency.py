"""Orders, refunds and spends racing on PostgreSQL: real threads, committed transactions.

Each test starts its threads on a barrier so that they hit the database together; each
thread closes its own connection. What must hold whatever the interleaving:

- one order per (merchant, external_id): identical duplicates replay the winner's
  answer, different bodies under the id are conflicts, and points are earned once;
- one refund per refund id, and its points reversed once;
- concurrent spends never take a balance below zero, and ``balance == sum(delta)``.
"""

import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Sum

from loyalty.errors import InsufficientPoints, OrderConflict
from loyalty.models import PointsAccount, PointsEntry
from loyalty.services import refunds as refund_service
from loyalty.services.memberships import membership_enrol
from loyalty.services.points import points_adjust, points_spend
from loyalty.services.purchases import purchase_record
from loyalty.services.refunds import RefundInput, RefundLineInput, refund_record
from storefront.models import Order, OrderLine, Refund
from tests.conftest import merchant_client, requires_postgres
from tests.coupons.factories import CouponFactory
from tests.loyalty.conftest import ORDERS, order_body, order_input, points_account
from tests.loyalty.factories import ProgramFactory
from tests.members.factories import MerchantFactory, ShopperFactory
from tests.storefront.factories import ProductFactory
from tests.threads import each_at_once

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

THREADS = 20


def all_at_once(work, count: int = THREADS) -> list:
    """Run ``work(i)`` in ``count`` threads released together; results or exceptions, in order."""
    return each_at_once(work, count)


@pytest.fixture
def shop():
    """A merchant with a program and three products, committed."""
    merchant = MerchantFactory()
    ProgramFactory(merchant=merchant, points_per_unit=Decimal("1"), join_bonus_points=0)
    for sku in ("S0", "S1", "S2"):
        ProductFactory(merchant=merchant, sku=sku)
    return merchant


@pytest.fixture
def member(shop):
    return membership_enrol(shopper=ShopperFactory(), merchant=shop).membership


def assert_ledger_consistent(account: PointsAccount) -> None:
    account.refresh_from_db()
    entries = PointsEntry.objects.filter(account=account)
    assert account.balance == (entries.aggregate(s=Sum("delta"))["s"] or 0)
    assert sum(e.remaining or 0 for e in entries) == max(account.balance, 0)


def test_twenty_identical_orders_at_once_make_one_order_and_one_earn(shop, member):
    order = order_input(member.shopper.external_id)

    results = all_at_once(lambda _: purchase_record(merchant=shop, order=order))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Counter(r.created for r in results) == {True: 1, False: THREADS - 1}
    assert all(r.response == results[0].response for r in results)
    assert Order.objects.filter(merchant=shop, external_id="o-1").count() == 1
    assert OrderLine.objects.count() == 2
    assert PointsEntry.objects.filter(kind="earn").count() == 1
    account = points_account(member)
    assert account.balance == 24
    assert_ledger_consistent(account)


def test_twenty_identical_posts_for_an_unknown_shopper_over_http_make_one_order(shop):
    clients = [merchant_client(shop) for _ in range(THREADS)]
    body = order_body("first-time-buyer")

    results = all_at_once(lambda i: clients[i].post(ORDERS, body, format="json"))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Counter(r.status_code for r in results) == {201: 1, 200: THREADS - 1}
    assert all(r.json() == results[0].json() for r in results)
    assert Order.objects.filter(merchant=shop).count() == 1


def test_twenty_different_bodies_under_one_id_make_one_order_and_nineteen_conflicts(shop, member):
    # each body buys a different quantity, so no two are the same order
    orders = [order_input(member.shopper.external_id, lines=[("S0", i + 1, "1.00")]) for i in range(THREADS)]

    results = all_at_once(lambda i: purchase_record(merchant=shop, order=orders[i]))

    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1 and winners[0].created
    assert all(isinstance(r, OrderConflict) for r in results if isinstance(r, Exception)), results
    assert Order.objects.filter(merchant=shop).count() == 1
    assert PointsEntry.objects.filter(kind="earn").count() == 1
    assert points_account(member).balance == winners[0].response["points_earned"]


def test_concurrent_spends_never_overdraw(member):
    # given: 100 points; twenty spends of 15 ask for 300
    account = points_account(member)
    points_adjust(account=account, delta=100, reason="opening balance")

    results = all_at_once(lambda _: points_spend(account=points_account(member), points=15, reason="reward"))

    spent = [r for r in results if isinstance(r, PointsEntry)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert len(spent) + len(refused) == THREADS, results
    assert len(spent) == 6
    account.refresh_from_db()
    assert account.balance == 10
    assert_ledger_consistent(account)


def test_concurrent_spends_and_adjustments_keep_the_ledger_consistent(member):
    account = points_account(member)
    points_adjust(account=account, delta=50, reason="opening balance")

    def work(i):
        own = points_account(member)
        if i % 2:
            return points_adjust(account=own, delta=7, reason="goodwill")
        return points_spend(account=own, points=20, reason="reward")

    results = all_at_once(work)

    assert all(isinstance(r, PointsEntry | InsufficientPoints) for r in results), results
    account.refresh_from_db()
    assert account.balance >= 0
    assert_ledger_consistent(account)


def test_the_same_refund_at_once_is_recorded_and_reversed_once(shop, member):
    purchase_record(merchant=shop, order=order_input(member.shopper.external_id))
    refund = RefundInput(external_id="r-1", lines=(RefundLineInput(sku="S0", quantity=1),))

    results = all_at_once(lambda _: refund_record(merchant=shop, order_external_id="o-1", refund=refund))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Counter(r.created for r in results) == {True: 1, False: THREADS - 1}
    assert all(r.response == results[0].response for r in results)
    assert Refund.objects.count() == 1
    assert PointsEntry.objects.filter(kind="reverse").count() == 1
    account = points_account(member)
    assert account.balance == 24 - 10
    assert_ledger_consistent(account)


def test_different_refunds_of_one_order_at_once_never_refund_more_than_bought(shop, member):
    # the order has 2 x S0; twenty refunds of one each race for them
    purchase_record(merchant=shop, order=order_input(member.shopper.external_id))

    def work(i):
        refund = RefundInput(external_id=f"r-{i}", lines=(RefundLineInput(sku="S0", quantity=1),))
        return refund_record(merchant=shop, order_external_id="o-1", refund=refund)

    results = all_at_once(work)

    assert len([r for r in results if not isinstance(r, Exception)]) == 2
    assert Refund.objects.count() == 2
    assert OrderLine.objects.get(product__sku="S0").refunded_quantity == 2
    assert_ledger_consistent(points_account(member))


def test_a_full_refund_and_an_order_reusing_its_coupon_do_not_deadlock(shop, member, monkeypatch):
    # given: the member's order o-1 redeemed coupon C
    coupon = CouponFactory(template__merchant=shop, shopper=member.shopper)
    purchase_record(merchant=shop, order=order_input(member.shopper.external_id, coupon_codes=(coupon.code,)))
    restored = threading.Event()
    restore = refund_service.coupons_restore

    def restore_then_linger(**kwargs):
        # the refund holds C's row lock from here; give the order time to reach its locks
        codes = restore(**kwargs)
        restored.set()
        time.sleep(0.3)
        return codes

    monkeypatch.setattr(refund_service, "coupons_restore", restore_then_linger)
    full = RefundInput(
        external_id="r-1",
        lines=(RefundLineInput(sku="S0", quantity=2), RefundLineInput(sku="S1", quantity=1)),
    )

    def work(i):
        if i == 0:
            return refund_record(merchant=shop, order_external_id="o-1", refund=full)
        # when: a new order names C while the refund is giving it back
        restored.wait(timeout=10)
        return purchase_record(
            merchant=shop, order=order_input(member.shopper.external_id, "o-2", coupon_codes=(coupon.code,))
        )

    refund, order = all_at_once(work, count=2)

    # then: both finish (the order locks the points account first, and so does the refund)
    assert not isinstance(refund, Exception), refund
    assert not isinstance(order, Exception), order
    assert refund.response["coupons_restored"] == [coupon.code]
    assert order.response["coupons_redeemed"] == [coupon.code]
    assert_ledger_consistent(points_account(member))

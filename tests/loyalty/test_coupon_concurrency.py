"""Coupons in orders, exchanges and refunds under real concurrency (PostgreSQL, real threads,
committed transactions): a coupon is used once, points are never overdrawn, a refund gives a
coupon back once."""

from decimal import Decimal

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from coupons.models import Coupon
from loyalty.models import PointsAccount, PointsEntry, Program
from loyalty.services.memberships import membership_enrol
from loyalty.services.purchases import purchase_record
from storefront.models import Order, OrderLine, Refund
from tests.conftest import requires_postgres, shopper_client
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.loyalty.conftest import ORDERS, order_body, order_input
from tests.loyalty.factories import PointsEntryFactory, ProgramFactory
from tests.members.factories import MerchantAPIKeyFactory, MerchantFactory, ShopperFactory
from tests.storefront.factories import ProductFactory
from tests.threads import all_at_once

EXCHANGE = "/api/v1/me/coupons/exchange"
pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def shop_with_member():
    merchant = MerchantFactory()
    ProgramFactory(merchant=merchant, points_per_unit=Decimal("1"), join_bonus_points=0)
    for i in range(3):
        ProductFactory(merchant=merchant, sku=f"S{i}")
    shopper = ShopperFactory()
    membership = membership_enrol(shopper=shopper, merchant=merchant).membership
    return merchant, shopper, membership


def shop_system(merchant):
    """A factory of API clients with one key of ``merchant`` (a client per thread)."""
    key = MerchantAPIKeyFactory(merchant=merchant).plain_key

    def client():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return api

    return client


def post(client_factory, path, body):
    def call():
        response = client_factory().post(path, body, format="json")
        return response.status_code, response.json()

    return call


def test_fifty_orders_racing_for_one_coupon_one_wins_and_the_rest_write_nothing():
    merchant, shopper, membership = shop_with_member()
    Program.objects.filter(merchant=merchant).update(
        repurchase_template=CouponTemplateFactory(merchant=merchant)
    )
    coupon = CouponFactory(template__merchant=merchant, shopper=shopper)
    client = shop_system(merchant)
    bodies = [
        order_body(shopper.external_id, external_id=f"o-{i}", coupon_codes=[coupon.code]) for i in range(50)
    ]

    results = all_at_once([post(client, ORDERS, body) for body in bodies])

    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [400] * 49
    refusals = [body for status, body in results if status == 400]
    assert all(
        [(e["code"], e["attr"]) for e in body["errors"]] == [("coupon_redeemed", "coupon_codes")]
        for body in refusals
    ), refusals
    [winner] = [body for status, body in results if status == 201]
    assert winner["coupons_redeemed"] == [coupon.code]
    order = Order.objects.get()
    assert order.external_id == winner["external_id"]
    assert OrderLine.objects.filter(order=order).count() == OrderLine.objects.count() == 2
    assert PointsEntry.objects.filter(kind="earn").count() == 1
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order) == ("redeemed", order)
    # The first order as a member issued one repurchase coupon, once.
    assert Coupon.objects.filter(source="repurchase").count() == 1
    account = PointsAccount.objects.get(membership=membership)
    assert account.balance == winner["points_earned"] == int(Decimal(winner["total"]))


def test_ten_exchanges_at_once_never_overdraw_the_points():
    merchant, shopper, membership = shop_with_member()
    account = PointsAccount.objects.get(membership=membership)
    PointsEntryFactory(account=account, delta=300, remaining=300)
    template = CouponTemplateFactory(merchant=merchant, points_price=100, per_member_limit=10)
    clients = [shopper_client(shopper) for _ in range(10)]
    body = {"merchant": merchant.slug, "template": template.pk}

    def exchange(client):
        return lambda: (lambda r: (r.status_code, r.json()))(client.post(EXCHANGE, body, format="json"))

    results = all_at_once([exchange(client) for client in clients])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(status for status, _ in results) == [201] * 3 + [400] * 7
    assert all(
        body["errors"][0]["code"] == "insufficient_points" for status, body in results if status == 400
    )
    assert Coupon.objects.filter(shopper=shopper, source="exchange").count() == 3
    account.refresh_from_db()
    assert account.balance == 0
    assert account.balance == PointsEntry.objects.filter(account=account).aggregate(s=Sum("delta"))["s"]
    assert PointsEntry.objects.filter(account=account, kind="redeem").count() == 3
    assert not PointsEntry.objects.filter(account=account, remaining__lt=0).exists()
    template.refresh_from_db()
    assert template.issued_count == 3


def refund_body(external_id):
    return {"external_id": external_id, "lines": [{"sku": "S0", "quantity": 2}, {"sku": "S1", "quantity": 1}]}


def ordered_with_coupon():
    merchant, shopper, membership = shop_with_member()
    coupon = CouponFactory(template__merchant=merchant, shopper=shopper)
    purchase_record(merchant=merchant, order=order_input(shopper.external_id, coupon_codes=(coupon.code,)))
    return merchant, coupon, membership


def test_ten_identical_full_refunds_at_once_restore_the_coupon_once():
    merchant, coupon, membership = ordered_with_coupon()
    client = shop_system(merchant)

    results = all_at_once([post(client, f"{ORDERS}/o-1/refunds", refund_body("r-1")) for _ in range(10)])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(status for status, _ in results) == [200] * 9 + [201]
    assert all(body == results[0][1] for _, body in results), results
    assert results[0][1]["coupons_restored"] == [coupon.code]
    assert Refund.objects.count() == 1
    assert PointsEntry.objects.filter(kind="reverse").count() == 1
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order_id) == ("issued", None)
    account = PointsAccount.objects.get(membership=membership)
    assert account.balance == 0 == PointsEntry.objects.filter(account=account).aggregate(s=Sum("delta"))["s"]

    # A replay afterwards restores nothing more, even once the coupon is used again.
    purchase_record(
        merchant=merchant,
        order=order_input(coupon.shopper.external_id, external_id="o-2", coupon_codes=(coupon.code,)),
    )
    replay = client().post(f"{ORDERS}/o-1/refunds", refund_body("r-1"), format="json")
    assert replay.status_code == 200
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order.external_id) == ("redeemed", "o-2")


def test_full_refunds_under_different_ids_at_once_restore_the_coupon_once():
    merchant, coupon, _ = ordered_with_coupon()
    client = shop_system(merchant)

    results = all_at_once([post(client, f"{ORDERS}/o-1/refunds", refund_body(f"r-{i}")) for i in range(5)])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(status for status, _ in results) == [201] + [400] * 4
    assert all(
        body["errors"][0]["code"] == "refund_exceeds_purchase" for status, body in results if status == 400
    )
    [restored] = [body["coupons_restored"] for status, body in results if status == 201]
    assert restored == [coupon.code]
    assert Refund.objects.count() == 1


def test_first_orders_of_a_non_member_racing_earn_one_repurchase_coupon():
    merchant = MerchantFactory()
    repurchase = CouponTemplateFactory(merchant=merchant, per_member_limit=1, stock=100)
    ProgramFactory(merchant=merchant, repurchase_template=repurchase)
    for i in range(3):
        ProductFactory(merchant=merchant, sku=f"S{i}")
    stranger = ShopperFactory()

    results = all_at_once(
        [
            lambda i=i: purchase_record(merchant=merchant, order=order_input(stranger.external_id, f"o-{i}"))
            for i in range(6)
        ]
    )

    assert all(r.created for r in results), results
    assert Order.objects.filter(shopper=stranger).count() == 6
    assert Coupon.objects.filter(shopper=stranger, template=repurchase).count() == 1
    repurchase.refresh_from_db()
    assert repurchase.issued_count == 1

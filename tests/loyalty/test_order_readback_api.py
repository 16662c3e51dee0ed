"""GET /api/v1/merchant/orders and GET .../orders/{external_id}: what the pipeline wrote, read back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import assert_error, walk_pages
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.loyalty.conftest import ORDERS, order_body
from tests.members.factories import ShopperFactory
from tests.storefront.factories import OrderFactory, OrderLineFactory

# API key, page of orders (with shopper and account), lines with products, refunds, coupons.
LIST_QUERIES = 5


def ids(rows) -> list[str]:
    return [row["external_id"] for row in rows]


def test_an_order_reads_back_with_lines_refunds_points_and_coupons(merchant_api, merchant, member, shopper):
    # given: an order recorded through the pipeline with a coupon, then partly refunded
    coupon = CouponFactory(template=CouponTemplateFactory(merchant=merchant), shopper=shopper)
    body = order_body(shopper.external_id, coupon_codes=[coupon.code])
    assert merchant_api.post(ORDERS, body, format="json").status_code == 201
    refund = {"external_id": "r-1", "lines": [{"sku": "S0", "quantity": 1}]}
    assert merchant_api.post(f"{ORDERS}/o-1/refunds", refund, format="json").status_code == 201

    response = merchant_api.get(f"{ORDERS}/o-1")

    assert response.status_code == 200
    order = response.json()
    assert (order["external_id"], order["shopper"], order["status"]) == (
        "o-1",
        shopper.external_id,
        "partially_refunded",
    )
    assert (order["subtotal"], order["discount"], order["total"]) == ("24.25", "5.00", "19.25")
    assert order["points_earned"] == 19
    assert order["points_reversed"] == order["refunds"][0]["points_reversed"] > 0
    assert [(line["sku"], line["quantity"], line["refunded_quantity"]) for line in order["lines"]] == [
        ("S0", 2, 1),
        ("S1", 1, 0),
    ]
    assert order["refunds"][0]["lines"] == [{"sku": "S0", "quantity": 1}]
    assert order["coupons_redeemed"] == [coupon.code]
    assert order["paid_at"].endswith("Z")


def test_the_first_orders_issued_coupon_reads_back_with_a_z_time(
    merchant_api, merchant, member, shopper, program
):
    program.repurchase_template = CouponTemplateFactory(merchant=merchant)
    program.save()

    created = merchant_api.post(ORDERS, order_body(shopper.external_id), format="json").json()
    read = merchant_api.get(f"{ORDERS}/o-1").json()

    assert created["coupons_issued"][0]["expires_at"].endswith("Z")
    assert read["coupons_issued"] == created["coupons_issued"]


def test_orders_filter_by_shopper_and_paid_window(merchant_api, merchant):
    now = timezone.now()
    anna, ben = ShopperFactory(external_id="anna"), ShopperFactory(external_id="ben")
    OrderFactory(merchant=merchant, shopper=anna, external_id="old", paid_at=now - timedelta(days=10))
    OrderFactory(merchant=merchant, shopper=anna, external_id="new", paid_at=now - timedelta(days=1))
    OrderFactory(merchant=merchant, shopper=ben, external_id="ben", paid_at=now - timedelta(days=5))

    def listed(params):
        return ids(merchant_api.get(ORDERS, params).json()["results"])

    assert listed({}) == ["new", "ben", "old"]
    assert listed({"shopper": "anna"}) == ["new", "old"]
    window = {
        "paid_after": (now - timedelta(days=7)).isoformat(),
        "paid_before": (now - timedelta(days=2)).isoformat(),
    }
    assert listed(window) == ["ben"]


def test_a_bad_paid_after_is_400_on_the_parameter(merchant_api, merchant):
    assert_error(merchant_api.get(ORDERS, {"paid_after": "yesterday"}), 400, "invalid", "paid_after")


def test_another_merchants_orders_are_never_listed_or_read(merchant_api, merchant, other_merchant):
    OrderFactory(merchant=merchant, external_id="ours")
    OrderFactory(merchant=other_merchant, external_id="theirs")

    assert ids(merchant_api.get(ORDERS).json()["results"]) == ["ours"]
    assert_error(merchant_api.get(f"{ORDERS}/theirs"), 404, "order_not_found")


def test_paging_orders_is_stable_while_orders_arrive(merchant_api, merchant):
    now = timezone.now()
    for i in range(5):
        OrderFactory(merchant=merchant, external_id=f"o-{i}", paid_at=now - timedelta(hours=i))
    arriving = iter(range(5))

    def one_more():
        i = next(arriving, None)
        if i is not None:
            OrderFactory(merchant=merchant, external_id=f"late-{i}", paid_at=now + timedelta(hours=1))

    rows = walk_pages(merchant_api, ORDERS, {"page_size": 2}, between=one_more)

    listed = ids(rows)
    assert len(listed) == len(set(listed))
    assert [i for i in listed if i.startswith("o-")] == [f"o-{i}" for i in range(5)]


@pytest.mark.parametrize("count", [2, 15])
def test_order_list_query_count_does_not_grow_with_orders(
    merchant_api, merchant, django_assert_max_num_queries, count
):
    for i in range(count):
        order = OrderFactory(merchant=merchant, external_id=f"o-{i}")
        OrderLineFactory(order=order)
        OrderLineFactory(order=order)
        CouponFactory(
            template=CouponTemplateFactory(merchant=merchant),
            order=order,
            state="redeemed",
            redeemed_at=timezone.now(),
        )

    with django_assert_max_num_queries(LIST_QUERIES):
        rows = merchant_api.get(ORDERS).json()["results"]

    assert len(rows) == count
    assert all(len(row["lines"]) == 2 and len(row["coupons_redeemed"]) == 1 for row in rows)


def test_reading_one_order_costs_the_same_queries_as_a_page(
    merchant_api, merchant, django_assert_max_num_queries
):
    order = OrderFactory(merchant=merchant, external_id="o-1")
    OrderLineFactory(order=order)

    with django_assert_max_num_queries(LIST_QUERIES):
        assert merchant_api.get(f"{ORDERS}/o-1").status_code == 200

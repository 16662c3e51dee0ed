"""Coupons in POST /api/v1/merchant/orders (redeemed in the order's transaction) and in refunds."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coupons.models import Coupon
from loyalty.models import PointsEntry
from loyalty.services.memberships import membership_enrol
from loyalty.services.purchases import purchase_record
from members.engagement.models import EngagementScore
from members.models import Shopper
from storefront.models import Order
from tests.conftest import assert_error, row_counts
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.loyalty.conftest import ORDERS, order_body, order_input, points_account
from tests.loyalty.factories import ProgramFactory
from tests.members.factories import AccountFactory, MerchantFactory, ShopperFactory
from tests.storefront.factories import ProductFactory

TRANSACTION_CONTROL = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT"}
THREE_LINES = [("S0", 2, "10.00"), ("S1", 1, "5.00"), ("S2", 1, "15.00")]  # 40.00


def refunds(external_id: str = "o-1") -> str:
    return f"{ORDERS}/{external_id}/refunds"


@pytest.fixture
def coupon(merchant, member, shopper):
    """A usable 5.00-off coupon of the member."""
    return CouponFactory(template__merchant=merchant, shopper=shopper)


def order_with(merchant_api, shopper, codes, external_id="o-1", lines=THREE_LINES):
    body = order_body(shopper.external_id, external_id=external_id, lines=lines, coupon_codes=codes)
    return merchant_api.post(ORDERS, body, format="json")


def test_a_coupon_takes_its_discount_and_points_are_earned_on_the_total(
    merchant_api, shopper, member, coupon
):
    response = order_with(merchant_api, shopper, [coupon.code])

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["subtotal"], body["discount"], body["total"]) == ("40.00", "5.00", "35.00")
    assert body["points_earned"] == 35
    assert body["coupons_redeemed"] == [coupon.code]
    order = Order.objects.get(external_id="o-1")
    assert (order.subtotal, order.discount, order.total) == (
        Decimal("40.00"),
        Decimal("5.00"),
        Decimal("35.00"),
    )
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order, coupon.redeemed_at is not None) == ("redeemed", order, True)
    assert points_account(member).balance == 35


def test_a_capped_percent_coupon_on_products_in_scope(merchant_api, merchant, shopper, member, catalog):
    template = CouponTemplateFactory(
        merchant=merchant, kind="percent", value=Decimal("50"), max_discount=Decimal("9"), scope="products"
    )
    template.products.set([catalog[0]])  # S0: 2 x 10.00 in scope
    coupon = CouponFactory(template=template, shopper=shopper)

    body = order_with(merchant_api, shopper, [coupon.code]).json()

    assert (body["discount"], body["total"], body["points_earned"]) == ("9.00", "31.00", 31)


def test_a_category_coupon_never_takes_more_than_its_lines(merchant_api, merchant, shopper, member, catalog):
    template = CouponTemplateFactory(
        merchant=merchant, value=Decimal("100"), scope="category", category=catalog[1].category
    )
    coupon = CouponFactory(template=template, shopper=shopper)

    body = order_with(merchant_api, shopper, [coupon.code]).json()

    assert (body["discount"], body["total"]) == ("5.00", "35.00")


def test_a_100_percent_discount_earns_no_points_and_is_refundable(merchant_api, merchant, shopper, member):
    coupon = CouponFactory(
        template__merchant=merchant, template__kind="percent", template__value=Decimal("100"), shopper=shopper
    )

    body = order_with(merchant_api, shopper, [coupon.code]).json()
    refund = merchant_api.post(
        refunds(),
        {"external_id": "r-1", "lines": [{"sku": s, "quantity": q} for s, q, _ in THREE_LINES]},
        format="json",
    )

    assert (body["total"], body["points_earned"]) == ("0.00", 0)
    assert refund.status_code == 201, refund.content
    assert refund.json()["coupons_restored"] == [coupon.code]


def test_a_non_member_may_use_a_coupon_they_hold_and_earns_no_points(merchant_api, merchant, catalog):
    coupon = CouponFactory(template__merchant=merchant)

    body = order_with(merchant_api, coupon.shopper, [coupon.code]).json()

    assert (body["discount"], body["points_earned"], body["coupons_redeemed"]) == ("5.00", 0, [coupon.code])


def test_a_used_coupon_cannot_be_used_in_another_order(merchant_api, shopper, member, coupon):
    order_with(merchant_api, shopper, [coupon.code], external_id="o-1")
    before = row_counts()

    response = order_with(merchant_api, shopper, [coupon.code], external_id="o-2")

    assert_error(response, 400, "coupon_redeemed", "coupon_codes")
    assert row_counts() == before


def test_replaying_an_order_with_its_coupon_answers_the_stored_result(merchant_api, shopper, member, coupon):
    first = order_with(merchant_api, shopper, [coupon.code])
    before = row_counts()

    again = order_with(merchant_api, shopper, [coupon.code])

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert row_counts() == before


def test_stackable_coupons_are_redeemed_together(merchant_api, merchant, shopper, member):
    first, second = (
        CouponFactory(template__merchant=merchant, template__stackable=True, shopper=shopper)
        for _ in range(2)
    )

    body = order_with(merchant_api, shopper, [first.code, second.code]).json()

    assert (body["discount"], body["coupons_redeemed"]) == ("10.00", [first.code, second.code])
    assert set(Coupon.objects.values_list("state", flat=True)) == {"redeemed"}


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda m, s, o: "UNKNOWNCODE2", "coupon_not_found"),
        (lambda m, s, o: CouponFactory(template__merchant=o, shopper=s).code, "coupon_not_found"),
        (lambda m, s, o: CouponFactory(template__merchant=m).code, "coupon_not_owned"),
        (
            lambda m, s, o: (
                CouponFactory(
                    template__merchant=m, shopper=s, expires_at=timezone.now() - timedelta(seconds=1)
                ).code
            ),
            "coupon_expired",
        ),
        (
            lambda m, s, o: CouponFactory(template__merchant=m, shopper=s, state="expired").code,
            "coupon_expired",
        ),
        (
            lambda m, s, o: (
                CouponFactory(
                    template__merchant=m, shopper=s, valid_from=timezone.now() + timedelta(days=1)
                ).code
            ),
            "coupon_not_started",
        ),
        (
            lambda m, s, o: (
                CouponFactory(
                    template__merchant=m, shopper=s, state="redeemed", redeemed_at=timezone.now()
                ).code
            ),
            "coupon_redeemed",
        ),
        (lambda m, s, o: CouponFactory(template__merchant=m, shopper=s, state="void").code, "coupon_void"),
        (
            lambda m, s, o: (
                CouponFactory(template__merchant=m, shopper=s, template__min_spend=Decimal("40.01")).code
            ),
            "coupon_min_spend",
        ),
        (
            lambda m, s, o: CouponFactory(template__merchant=m, shopper=s, template__scope="products").code,
            "coupon_out_of_scope",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_rejected_coupon_refuses_the_order_and_writes_nothing(
    merchant_api, merchant, other_merchant, shopper, member, make, reason
):
    code = make(merchant, shopper, other_merchant)
    before = row_counts()

    response = order_with(merchant_api, shopper, [code])

    assert_error(response, 400, reason, "coupon_codes")
    assert code in response.json()["errors"][0]["detail"]
    assert row_counts() == before


def test_a_second_non_stackable_coupon_refuses_the_order(merchant_api, merchant, shopper, member, coupon):
    second = CouponFactory(template__merchant=merchant, shopper=shopper)
    before = row_counts()

    response = order_with(merchant_api, shopper, [coupon.code, second.code])

    assert_error(response, 400, "coupon_not_stackable", "coupon_codes")
    assert row_counts() == before
    assert set(Coupon.objects.values_list("state", flat=True)) == {"issued"}


def test_one_bad_coupon_among_good_ones_refuses_the_whole_order(merchant_api, merchant, shopper, member):
    good = CouponFactory(template__merchant=merchant, template__stackable=True, shopper=shopper)
    before = row_counts()

    response = order_with(merchant_api, shopper, [good.code, "UNKNOWNCODE2"])

    assert_error(response, 400, "coupon_not_found", "coupon_codes")
    assert row_counts() == before


def test_duplicate_codes_are_a_400_and_write_nothing(merchant_api, shopper, member, coupon):
    before = row_counts()

    response = order_with(merchant_api, shopper, [coupon.code, coupon.code])

    assert_error(response, 400, "duplicate_coupon_code", "coupon_codes")
    assert row_counts() == before


def test_an_unknown_shopper_with_a_coupon_code_is_refused_and_not_created(merchant_api, merchant, catalog):
    coupon = CouponFactory(template__merchant=merchant)
    before = row_counts()

    response = merchant_api.post(
        ORDERS, order_body("brand-new-shopper", lines=THREE_LINES, coupon_codes=[coupon.code]), format="json"
    )

    assert_error(response, 400, "coupon_not_owned", "coupon_codes")
    assert row_counts() == before
    assert not Shopper.objects.filter(external_id="brand-new-shopper").exists()


# --- Refunds give coupons back ---------------------------------------------------------


def refund(merchant_api, external_id, lines, order="o-1"):
    body = {"external_id": external_id, "lines": [{"sku": s, "quantity": q} for s, q in lines]}
    return merchant_api.post(refunds(order), body, format="json")


ALL_LINES = [("S0", 2), ("S1", 1), ("S2", 1)]


def test_a_full_refund_restores_the_coupon_once(merchant_api, shopper, member, coupon):
    order_with(merchant_api, shopper, [coupon.code])

    response = refund(merchant_api, "r-1", ALL_LINES)

    assert response.status_code == 201, response.content
    assert response.json()["coupons_restored"] == [coupon.code]
    assert response.json()["points_reversed"] == 35
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order, coupon.redeemed_at) == ("issued", None, None)

    before = row_counts()
    replay = refund(merchant_api, "r-1", ALL_LINES)

    assert replay.status_code == 200
    assert replay.json() == response.json()
    assert row_counts() == before
    coupon.refresh_from_db()
    assert coupon.state == "issued"


def test_a_restored_coupon_can_be_used_again(merchant_api, shopper, member, coupon):
    order_with(merchant_api, shopper, [coupon.code])
    refund(merchant_api, "r-1", ALL_LINES)

    response = order_with(merchant_api, shopper, [coupon.code], external_id="o-2")

    assert response.status_code == 201, response.content
    assert response.json()["coupons_redeemed"] == [coupon.code]


def test_a_partial_refund_keeps_the_coupon_used_until_the_order_is_all_refunded(
    merchant_api, shopper, member, coupon
):
    order_with(merchant_api, shopper, [coupon.code])

    partial = refund(merchant_api, "r-1", [("S0", 2)])
    coupon.refresh_from_db()
    assert (partial.json()["coupons_restored"], coupon.state) == ([], "redeemed")

    rest = refund(merchant_api, "r-2", [("S1", 1), ("S2", 1)])
    coupon.refresh_from_db()
    assert (rest.json()["coupons_restored"], coupon.state) == ([coupon.code], "issued")


def test_a_coupon_expired_since_the_order_is_not_restored(merchant_api, shopper, member, coupon):
    order_with(merchant_api, shopper, [coupon.code])
    Coupon.objects.filter(pk=coupon.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = refund(merchant_api, "r-1", ALL_LINES)

    assert response.json()["coupons_restored"] == []
    coupon.refresh_from_db()
    assert coupon.state == "redeemed"


def test_refunding_an_order_without_coupons_restores_none(merchant_api, shopper, member, merchant):
    unrelated = CouponFactory(
        template__merchant=merchant, shopper=shopper, state="redeemed", redeemed_at=timezone.now()
    )
    order_with(merchant_api, shopper, [])

    assert refund(merchant_api, "r-1", ALL_LINES).json()["coupons_restored"] == []
    unrelated.refresh_from_db()
    assert unrelated.state == "redeemed"


# --- The statement budget of an order with coupons --------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_three_line_order_redeeming_a_coupon_and_issuing_one_takes_at_most_12_statements():
    # The merchant has its brand account, so the order's fan score counts in the budget.
    merchant = MerchantFactory()
    brand = AccountFactory(merchant=merchant, kind="brand", handle=merchant.slug)
    repurchase = CouponTemplateFactory(merchant=merchant, stock=100)
    ProgramFactory(merchant=merchant, repurchase_template=repurchase, repurchase_delay_days=0)
    for i in range(3):
        ProductFactory(merchant=merchant, sku=f"S{i}")
    shopper = ShopperFactory()
    membership_enrol(shopper=shopper, merchant=merchant)
    coupon = CouponFactory(template__merchant=merchant, shopper=shopper)
    order = order_input(shopper.external_id, lines=THREE_LINES, coupon_codes=(coupon.code,))

    with CaptureQueriesContext(connection) as queries:
        result = purchase_record(merchant=merchant, order=order)

    assert result.response["coupons_redeemed"] == [coupon.code]
    assert len(result.response["coupons_issued"]) == 1
    assert PointsEntry.objects.filter(kind="earn").count() == 1
    assert EngagementScore.objects.get(account=brand, shopper=shopper).score == 20.0  # the purchase weight
    # Transaction control is left out: SQLite's BEGIN and COMMIT go through the cursor (and are
    # captured), PostgreSQL's through the driver (and are not); what is counted is the same work.
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in TRANSACTION_CONTROL]
    print(f"\n{connection.vendor}: {len(statements)} statements")  # the figure for the closing note
    assert len(statements) <= 12, "\n".join(statements)

"""The repurchase coupon the program gives on a shopper's first order, member or not (at
once or after a delay; members only when the program says so), and where the shopper
sees it beside the products it covers (frequently purchased).

The program's terms that name the template and the delay, and the join coupon, are in
test_join_coupons.py."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coupons.models import Coupon, ScheduledCoupon
from coupons.services.scheduled import coupons_issue_due
from loyalty.services.memberships import membership_enrol
from members import services as members_services
from tests.conftest import assert_error, row_counts
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.loyalty.conftest import ORDERS, order_body, points_account
from tests.members.factories import MerchantFactory, ShopperFactory
from tests.storefront.factories import CategoryFactory, ProductFactory, PurchaseStatFactory

PROGRAM = "/api/v1/merchant/program"
MY_COUPONS = "/api/v1/me/coupons"
FREQUENTLY_PURCHASED = "/api/v1/me/frequently-purchased"


def order(merchant_api, shopper, external_id="o-1", **extra):
    return merchant_api.post(
        ORDERS, order_body(shopper.external_id, external_id=external_id, **extra), format="json"
    )


# --- The repurchase coupon ---------------------------------------------------------------


def test_a_members_first_order_issues_the_repurchase_coupon_in_the_answer(
    merchant_api, shopper_api, shopper, member, repurchase
):
    response = order(merchant_api, shopper)

    assert response.status_code == 201, response.content
    [issued] = response.json()["coupons_issued"]
    coupon = Coupon.objects.get(shopper=shopper)
    assert (issued["code"], issued["template"]) == (coupon.code, repurchase.pk)
    assert (coupon.source, coupon.state, coupon.template) == ("repurchase", "issued", repurchase)
    assert coupon.expires_at - coupon.issued_at == timedelta(days=14)
    assert points_account(member).first_order_at is not None
    mine = shopper_api.get(MY_COUPONS, {"state": "usable"}).json()["results"]
    assert [(c["code"], c["source"]) for c in mine] == [(coupon.code, "repurchase")]


def test_later_orders_issue_no_more_repurchase_coupons(merchant_api, shopper, member, repurchase):
    order(merchant_api, shopper, "o-1")

    second = order(merchant_api, shopper, "o-2")

    assert second.json()["coupons_issued"] == []
    assert Coupon.objects.filter(shopper=shopper).count() == 1


def test_a_later_order_after_using_the_coupon_issues_none_either(merchant_api, shopper, member, repurchase):
    code = order(merchant_api, shopper, "o-1").json()["coupons_issued"][0]["code"]

    second = order(merchant_api, shopper, "o-2", coupon_codes=[code])

    assert second.status_code == 201, second.content
    assert (second.json()["coupons_redeemed"], second.json()["coupons_issued"]) == ([code], [])


def test_a_non_members_first_order_issues_the_repurchase_coupon(
    merchant_api, shopper_api, merchant, shopper, repurchase
):
    response = order(merchant_api, shopper)

    assert response.status_code == 201, response.content
    [issued] = response.json()["coupons_issued"]
    coupon = Coupon.objects.get(shopper=shopper)
    assert (coupon.code, coupon.source, coupon.template) == (issued["code"], "repurchase", repurchase)
    mine = shopper_api.get(MY_COUPONS, {"merchant": merchant.slug}).json()["results"]
    assert [(c["code"], c["state"]) for c in mine] == [(coupon.code, "issued")]


def test_a_later_join_keeps_the_coupon_and_makes_no_new_first_order(
    merchant_api, shopper_api, merchant, shopper, repurchase
):
    code = order(merchant_api, shopper, "o-1").json()["coupons_issued"][0]["code"]
    membership_enrol(shopper=shopper, merchant=merchant)

    as_member = order(merchant_api, shopper, "o-2")

    assert as_member.json()["coupons_issued"] == []
    mine = shopper_api.get(MY_COUPONS, {"state": "usable"}).json()["results"]
    assert [c["code"] for c in mine] == [code]


def test_a_members_only_program_issues_only_to_a_member_at_the_first_order(
    merchant_api, merchant, shopper, program, repurchase
):
    program.repurchase_members_only = True
    program.save()
    joined_first = ShopperFactory()
    membership_enrol(shopper=joined_first, merchant=merchant)

    before_joining = order(merchant_api, shopper, "o-1")
    membership_enrol(shopper=shopper, merchant=merchant)
    as_member = order(merchant_api, shopper, "o-2")
    member_from_the_start = order(merchant_api, joined_first, "o-3")

    assert before_joining.json()["coupons_issued"] == []
    assert as_member.json()["coupons_issued"] == []  # its first order was before joining
    assert len(member_from_the_start.json()["coupons_issued"]) == 1


def test_a_former_member_of_a_members_only_program_gets_no_repurchase_coupon(
    merchant_api, merchant, shopper, member, program, repurchase
):
    program.repurchase_members_only = True
    program.save()
    members_services.membership_leave(shopper=shopper, merchant=merchant)

    response = order(merchant_api, shopper)

    assert response.status_code == 201
    assert response.json()["coupons_issued"] == []
    assert not Coupon.objects.exists()


def test_a_former_member_is_a_first_time_buyer_like_anyone(
    merchant_api, merchant, shopper, member, repurchase
):
    members_services.membership_leave(shopper=shopper, merchant=merchant)

    response = order(merchant_api, shopper)

    assert len(response.json()["coupons_issued"]) == 1


def test_a_non_members_second_order_issues_none(merchant_api, shopper, repurchase):
    order(merchant_api, shopper, "o-1")

    assert order(merchant_api, shopper, "o-2").json()["coupons_issued"] == []
    assert Coupon.objects.filter(shopper=shopper).count() == 1


def test_the_members_only_switch_is_in_the_program_api(merchant_api, program):
    assert merchant_api.get(PROGRAM).json()["repurchase_members_only"] is False

    response = merchant_api.patch(PROGRAM, {"repurchase_members_only": True}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["repurchase_members_only"] is True
    program.refresh_from_db()
    assert program.repurchase_members_only is True


def test_a_bad_members_only_switch_is_a_400_and_changes_nothing(merchant_api, program):
    before = row_counts()

    assert_error(
        merchant_api.patch(PROGRAM, {"repurchase_members_only": "maybe"}, format="json"),
        400,
        "invalid",
        "repurchase_members_only",
    )
    assert row_counts() == before


def test_rejoining_does_not_make_a_new_first_order(merchant_api, merchant, shopper, member, repurchase):
    order(merchant_api, shopper, "o-1")
    members_services.membership_leave(shopper=shopper, merchant=merchant)
    membership_enrol(shopper=shopper, merchant=merchant)

    assert order(merchant_api, shopper, "o-2").json()["coupons_issued"] == []


@pytest.mark.parametrize("why", ["out_of_stock", "limit_reached", "inactive", "window_over"])
def test_a_repurchase_coupon_that_cannot_be_issued_does_not_refuse_the_order(
    merchant_api, merchant, shopper, member, repurchase, why
):
    if why == "out_of_stock":
        repurchase.stock = 0
    elif why == "limit_reached":
        CouponFactory(template=repurchase, shopper=shopper)
    elif why == "inactive":
        repurchase.active = False
    elif why == "window_over":
        repurchase.valid_days, repurchase.valid_until = None, timezone.now() + timedelta(seconds=1)
    repurchase.save()
    if why == "window_over":
        type(repurchase).objects.filter(pk=repurchase.pk).update(
            valid_until=timezone.now() - timedelta(days=1)
        )
    coupons_before = Coupon.objects.count()

    response = order(merchant_api, shopper)

    assert response.status_code == 201, response.content
    assert response.json()["coupons_issued"] == []
    assert response.json()["points_earned"] == 24
    assert Coupon.objects.count() == coupons_before
    repurchase.refresh_from_db()
    assert repurchase.issued_count == 0
    assert points_account(member).first_order_at is not None


def test_a_repurchase_template_of_another_merchant_does_not_refuse_the_order(
    merchant_api, other_merchant, shopper, member, program
):
    # Only the admin of a superuser could set it; the order still goes through, without a coupon.
    program.repurchase_template = CouponTemplateFactory(merchant=other_merchant)
    program.save()

    response = order(merchant_api, shopper)

    assert response.status_code == 201, response.content
    assert response.json()["coupons_issued"] == []


# --- Delayed repurchase coupons ----------------------------------------------------------


@pytest.fixture
def delayed(repurchase, program):
    program.repurchase_delay_days = 3
    program.save()
    return repurchase


def test_with_a_delay_the_first_order_promises_the_coupon_for_later(
    merchant_api, shopper_api, shopper, member, delayed
):
    response = order(merchant_api, shopper)

    assert response.status_code == 201
    assert response.json()["coupons_issued"] == []
    promise = ScheduledCoupon.objects.get()
    assert (promise.shopper, promise.template, promise.source) == (shopper, delayed, "repurchase")
    assert timedelta(days=3) - timedelta(minutes=1) < promise.due_at - timezone.now() <= timedelta(days=3)
    assert shopper_api.get(MY_COUPONS).json()["results"] == []


def test_the_due_job_issues_the_delayed_coupon_once(merchant_api, shopper_api, shopper, member, delayed):
    order(merchant_api, shopper, "o-1")
    order(merchant_api, shopper, "o-2")  # not a first order: no second promise
    promise = ScheduledCoupon.objects.get()

    early = coupons_issue_due(now=promise.due_at - timedelta(seconds=1))
    on_time = coupons_issue_due(now=promise.due_at)
    again = coupons_issue_due(now=promise.due_at + timedelta(days=1))

    assert (early.issued, on_time.issued, again.issued) == (0, 1, 0)
    coupon = Coupon.objects.get(shopper=shopper)
    assert (coupon.source, coupon.template, coupon.issued_at) == ("repurchase", delayed, promise.due_at)
    mine = shopper_api.get(MY_COUPONS, {"merchant": delayed.merchant.slug}).json()["results"]
    assert [c["code"] for c in mine] == [coupon.code]


def test_a_member_who_left_before_the_delay_is_over_gets_none_from_a_members_only_program(
    merchant_api, merchant, shopper, member, program, delayed
):
    program.repurchase_members_only = True
    program.save()
    order(merchant_api, shopper)
    members_services.membership_leave(shopper=shopper, merchant=merchant)

    result = coupons_issue_due(now=timezone.now() + timedelta(days=4))

    assert (result.issued, result.skipped) == (0, 1)
    assert ScheduledCoupon.objects.get().outcome == "not_a_member"
    assert not Coupon.objects.exists()


def test_a_delayed_coupon_reaches_a_buyer_who_never_joined(merchant_api, shopper, delayed):
    order(merchant_api, shopper)

    result = coupons_issue_due(now=timezone.now() + timedelta(days=4))

    assert (result.issued, result.skipped) == (1, 0)
    assert Coupon.objects.get().shopper == shopper


# --- Where the shopper sees it: frequently purchased -------------------------------------


def test_frequently_purchased_shows_the_repurchase_coupon_beside_the_products_it_covers(
    merchant_api, shopper_api, merchant, shopper, member, repurchase, catalog
):
    repurchase.scope = "products"
    repurchase.save()
    repurchase.products.set([catalog[0]])  # S0 only
    code = order(merchant_api, shopper).json()["coupons_issued"][0]["code"]

    response = shopper_api.get(FREQUENTLY_PURCHASED, {"merchant": merchant.slug})

    assert response.status_code == 200, response.content
    beside = {
        row["product"]["sku"]: row["coupon"] and row["coupon"]["code"] for row in response.json()["results"]
    }
    assert beside == {"S0": code, "S1": None}


def test_a_used_repurchase_coupon_is_no_longer_shown(merchant_api, shopper_api, shopper, member, repurchase):
    code = order(merchant_api, shopper, "o-1").json()["coupons_issued"][0]["code"]
    order(merchant_api, shopper, "o-2", coupon_codes=[code])

    rows = shopper_api.get(FREQUENTLY_PURCHASED).json()["results"]

    assert rows and all(row["coupon"] is None for row in rows)


def test_other_coupons_and_other_merchants_coupons_are_not_shown_beside_products(
    merchant_api, shopper_api, merchant, other_merchant, shopper, member, catalog
):
    CouponFactory(template__merchant=merchant, shopper=shopper, source="manual")
    CouponFactory(template__merchant=other_merchant, shopper=shopper, source="repurchase")
    order(merchant_api, shopper)

    rows = shopper_api.get(FREQUENTLY_PURCHASED).json()["results"]

    assert rows and all(row["coupon"] is None for row in rows)


def test_frequently_purchased_with_coupons_costs_the_same_queries_for_2_and_10_merchants(
    shopper_api, shopper
):
    def measure(n):
        for _ in range(n):
            merchant = MerchantFactory()
            category = CategoryFactory(merchant=merchant)
            product = ProductFactory(merchant=merchant, category=category)
            PurchaseStatFactory(shopper=shopper, product=product)
            CouponFactory(
                template__merchant=merchant,
                template__scope="category",
                template__category=category,
                shopper=shopper,
                source="repurchase",
            )
        with CaptureQueriesContext(connection) as queries:
            rows = shopper_api.get(FREQUENTLY_PURCHASED).json()["results"]
        assert all(row["coupon"]["template"]["category"] for row in rows)
        return len(queries), len(rows)

    small, large = measure(2), measure(8)

    assert (small[1], large[1]) == (2, 10)
    assert small[0] == large[0]

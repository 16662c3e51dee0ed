"""Coupons the program gives: a repurchase coupon on a member's first order (at once or after a
delay), a welcome coupon on the first join; and where a shopper sees them (my coupons, the
wallet, frequently purchased)."""

from datetime import timedelta
from decimal import Decimal

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
WALLET = "/api/v1/me/wallet"
FREQUENTLY_PURCHASED = "/api/v1/me/frequently-purchased"


@pytest.fixture
def repurchase(merchant, program, catalog):
    """The program's repurchase coupon: 3.00 off, 14 days, issued at once."""
    template = CouponTemplateFactory(
        merchant=merchant, name="Come back", value=Decimal("3.00"), valid_days=14
    )
    program.repurchase_template = template
    program.save()
    return template


def order(merchant_api, shopper, external_id="o-1", **extra):
    return merchant_api.post(
        ORDERS, order_body(shopper.external_id, external_id=external_id, **extra), format="json"
    )


# --- The program's terms (PATCH /api/v1/merchant/program) -------------------------------


def test_patch_program_sets_the_coupon_templates_and_the_delay(merchant_api, merchant, program):
    welcome, again = CouponTemplateFactory(merchant=merchant), CouponTemplateFactory(merchant=merchant)

    response = merchant_api.patch(
        PROGRAM,
        {"join_coupon_template": welcome.pk, "repurchase_template": again.pk, "repurchase_delay_days": 7},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["join_coupon_template"], body["repurchase_template"], body["repurchase_delay_days"]) == (
        welcome.pk,
        again.pk,
        7,
    )
    program.refresh_from_db()
    assert (program.join_coupon_template, program.repurchase_template, program.repurchase_delay_days) == (
        welcome,
        again,
        7,
    )


def test_patch_program_clears_a_template_with_null(merchant_api, repurchase, program):
    response = merchant_api.patch(PROGRAM, {"repurchase_template": None}, format="json")

    assert response.json()["repurchase_template"] is None
    program.refresh_from_db()
    assert program.repurchase_template is None


@pytest.mark.parametrize("field", ["join_coupon_template", "repurchase_template"])
def test_another_merchants_template_is_a_400_on_the_field_and_nothing_changes(
    merchant_api, other_merchant, program, field
):
    theirs = CouponTemplateFactory(merchant=other_merchant)
    before = row_counts()

    response = merchant_api.patch(PROGRAM, {field: theirs.pk, "repurchase_delay_days": 3}, format="json")

    assert_error(response, 400, "coupon_template_not_found", field)
    assert row_counts() == before
    program.refresh_from_db()
    assert (getattr(program, f"{field}_id"), program.repurchase_delay_days) == (None, 0)


@pytest.mark.parametrize(
    ("body", "code", "attr"),
    [
        ({"repurchase_delay_days": -1}, "min_value", "repurchase_delay_days"),
        ({"repurchase_delay_days": 366}, "max_value", "repurchase_delay_days"),
        ({"repurchase_template": 0}, "min_value", "repurchase_template"),
        ({"join_coupon_template": "x"}, "invalid", "join_coupon_template"),
    ],
)
def test_bad_program_coupon_terms_are_a_400_and_change_nothing(merchant_api, program, body, code, attr):
    before = row_counts()

    assert_error(merchant_api.patch(PROGRAM, body, format="json"), 400, code, attr)
    assert row_counts() == before


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


def test_a_non_member_gets_no_repurchase_coupon_until_their_first_order_as_a_member(
    merchant_api, merchant, shopper, repurchase
):
    before_joining = order(merchant_api, shopper, "o-1")
    membership_enrol(shopper=shopper, merchant=merchant)

    as_member = order(merchant_api, shopper, "o-2")

    assert before_joining.json()["coupons_issued"] == []
    assert len(as_member.json()["coupons_issued"]) == 1


def test_a_former_member_gets_no_repurchase_coupon(merchant_api, merchant, shopper, member, repurchase):
    members_services.membership_leave(shopper=shopper, merchant=merchant)

    response = order(merchant_api, shopper)

    assert response.status_code == 201
    assert response.json()["coupons_issued"] == []
    assert not Coupon.objects.exists()


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


def test_a_member_who_left_before_the_delay_is_over_gets_none(
    merchant_api, merchant, shopper, member, delayed
):
    order(merchant_api, shopper)
    members_services.membership_leave(shopper=shopper, merchant=merchant)

    result = coupons_issue_due(now=timezone.now() + timedelta(days=4))

    assert (result.issued, result.skipped) == (0, 1)
    assert ScheduledCoupon.objects.get().outcome == "not_a_member"
    assert not Coupon.objects.exists()


# --- The join coupon ---------------------------------------------------------------------


@pytest.fixture
def welcome(merchant, program):
    template = CouponTemplateFactory(merchant=merchant, name="Welcome")
    program.join_coupon_template = template
    program.save()
    return template


def test_the_first_join_issues_the_welcome_coupon_once(shopper_api, merchant, shopper, welcome):
    response = shopper_api.post("/api/v1/me/memberships", {"merchant": merchant.slug}, format="json")
    shopper_api.delete(f"/api/v1/me/memberships/{merchant.slug}")
    rejoin = shopper_api.post("/api/v1/me/memberships", {"merchant": merchant.slug}, format="json")

    assert (response.status_code, rejoin.status_code) == (201, 201)
    coupon = Coupon.objects.get(shopper=shopper)
    assert (coupon.template, coupon.source) == (welcome, "join")


@pytest.mark.parametrize("why", ["out_of_stock", "inactive"])
def test_a_welcome_coupon_that_cannot_be_issued_does_not_refuse_the_join(
    shopper_api, merchant, shopper, welcome, why
):
    if why == "out_of_stock":
        welcome.stock = 0
    else:
        welcome.active = False
    welcome.save()

    response = shopper_api.post("/api/v1/me/memberships", {"merchant": merchant.slug}, format="json")

    assert response.status_code == 201
    assert not Coupon.objects.exists()


# --- Where the shopper sees them: the wallet and frequently purchased ---------------------


def test_the_wallet_counts_usable_coupons_per_merchant(
    shopper_api, shopper, merchant, other_merchant, program
):
    membership_enrol(shopper=shopper, merchant=merchant)
    membership_enrol(shopper=shopper, merchant=other_merchant)
    for _ in range(2):
        CouponFactory(template__merchant=merchant, shopper=shopper)
    CouponFactory(template__merchant=other_merchant, shopper=shopper)
    CouponFactory(template__merchant=merchant, shopper=shopper, state="redeemed", redeemed_at=timezone.now())
    CouponFactory(
        template__merchant=merchant, shopper=shopper, expires_at=timezone.now() - timedelta(seconds=1)
    )
    CouponFactory(template__merchant=merchant, shopper=shopper, valid_from=timezone.now() + timedelta(days=1))
    CouponFactory(template__merchant=merchant, shopper=ShopperFactory())  # someone else's

    response = shopper_api.get(WALLET)

    assert response.status_code == 200
    counts = {m["merchant"]["slug"]: m["usable_coupons"] for m in response.json()["memberships"]}
    assert counts == {merchant.slug: 2, other_merchant.slug: 1}


def test_the_wallet_costs_the_same_queries_for_2_and_20_coupons(
    shopper_api, shopper, merchant, other_merchant
):
    membership_enrol(shopper=shopper, merchant=merchant)
    membership_enrol(shopper=shopper, merchant=other_merchant)

    def measure(n):
        for i in range(n):
            CouponFactory(template__merchant=merchant if i % 2 else other_merchant, shopper=shopper)
        with CaptureQueriesContext(connection) as queries:
            body = shopper_api.get(WALLET).json()
        return len(queries), sum(m["usable_coupons"] for m in body["memberships"])

    small, large = measure(2), measure(18)

    assert (small[1], large[1]) == (2, 20)
    assert small[0] == large[0]


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

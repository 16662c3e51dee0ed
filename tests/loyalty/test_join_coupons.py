"""The program's coupon terms (``PATCH /api/v1/merchant/program``: the join and repurchase
templates, the delay), the welcome coupon the first join issues, and the wallet's count
of usable coupons.

The repurchase coupon itself (first orders, delays, frequently purchased) is in
test_repurchase_coupons.py."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coupons.models import Coupon
from loyalty.services.memberships import membership_enrol
from tests.conftest import assert_error, row_counts
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.members.factories import ShopperFactory

PROGRAM = "/api/v1/merchant/program"
WALLET = "/api/v1/me/wallet"


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


# --- Where the shopper sees them: the wallet ---------------------------------------------


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

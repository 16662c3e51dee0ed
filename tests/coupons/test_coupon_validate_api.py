"""POST /api/v1/merchant/coupons/validate: the order's coupon rules as a dry run; writes nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from coupons.models import Coupon
from members.models import Shopper
from tests.conftest import assert_error, row_counts
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.storefront.factories import CategoryFactory, ProductFactory

VALIDATE = "/api/v1/merchant/coupons/validate"


@pytest.fixture
def shoes(merchant):
    return CategoryFactory(merchant=merchant, slug="shoes")


@pytest.fixture
def catalog(merchant, shoes):
    """BOOT (shoes, 40.00) and HAT (another category, 10.00)."""
    return {
        "BOOT": ProductFactory(merchant=merchant, sku="BOOT", category=shoes, price=Decimal("40.00")),
        "HAT": ProductFactory(merchant=merchant, sku="HAT", price=Decimal("10.00")),
    }


def cart(shopper, codes, lines=(("BOOT", 1, "40.00"), ("HAT", 2, "10.00"))) -> dict:
    return {
        "shopper": shopper.external_id if isinstance(shopper, Shopper) else shopper,
        "lines": [{"sku": s, "quantity": q, "unit_price": p} for s, q, p in lines],
        "coupon_codes": codes,
    }


def validate(client, body):
    before = row_counts()
    response = client.post(VALIDATE, body, format="json")
    assert row_counts() == before, "validate wrote something"
    return response


def test_a_usable_coupon_applies_and_nothing_is_written(merchant_api, merchant, shopper, catalog):
    coupon = CouponFactory(template__merchant=merchant, template__value=Decimal("7.50"), shopper=shopper)

    response = validate(merchant_api, cart(shopper, [coupon.code]))

    assert response.status_code == 200, response.content
    assert response.json() == {
        "subtotal": "60.00",
        "discount": "7.50",
        "total": "52.50",
        "applied": [coupon.code],
        "rejected": [],
    }
    coupon.refresh_from_db()
    assert (coupon.state, coupon.order, coupon.redeemed_at) == ("issued", None, None)


def test_a_capped_percent_coupon_on_its_category(merchant_api, merchant, shopper, catalog, shoes):
    template = CouponTemplateFactory(
        merchant=merchant,
        kind="percent",
        value=Decimal("50"),
        max_discount=Decimal("15"),
        scope="category",
        category=shoes,
    )
    coupon = CouponFactory(template=template, shopper=shopper)

    response = validate(merchant_api, cart(shopper, [coupon.code]))

    body = response.json()
    assert (body["subtotal"], body["discount"], body["total"]) == ("60.00", "15.00", "45.00")


def test_no_codes_is_the_cart_without_discount(merchant_api, shopper, catalog):
    response = validate(merchant_api, cart(shopper, []))

    assert response.json() == {
        "subtotal": "60.00",
        "discount": "0.00",
        "total": "60.00",
        "applied": [],
        "rejected": [],
    }


def rejected_reasons(response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.content
    return [(r["code"], r["reason"]) for r in response.json()["rejected"]]


@pytest.mark.parametrize(
    ("coupon_fields", "reason"),
    [
        ({"state": Coupon.State.REDEEMED, "redeemed_at": timezone.now()}, "coupon_redeemed"),
        ({"state": Coupon.State.VOID}, "coupon_void"),
        ({"state": Coupon.State.EXPIRED}, "coupon_expired"),
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "coupon_expired"),
        ({"valid_from": timezone.now() + timedelta(days=1)}, "coupon_not_started"),
        ({"template__min_spend": Decimal("60.01")}, "coupon_min_spend"),
        ({"template__scope": "products"}, "coupon_out_of_scope"),
    ],
)
def test_an_unusable_coupon_is_rejected_with_its_reason(
    merchant_api, merchant, shopper, catalog, coupon_fields, reason
):
    coupon = CouponFactory(template__merchant=merchant, shopper=shopper, **coupon_fields)

    response = validate(merchant_api, cart(shopper, [coupon.code]))

    assert rejected_reasons(response) == [(coupon.code, reason)]
    assert response.json()["rejected"][0]["detail"]
    assert (response.json()["discount"], response.json()["total"]) == ("0.00", "60.00")


def test_min_spend_counts_the_lines_in_scope(merchant_api, merchant, shopper, catalog, shoes):
    shoes_only = CouponTemplateFactory(
        merchant=merchant, scope="category", category=shoes, min_spend=Decimal("45.00")
    )
    coupon = CouponFactory(template=shoes_only, shopper=shopper)

    # 60.00 in the cart, but only 40.00 of shoes.
    response = validate(merchant_api, cart(shopper, [coupon.code]))

    assert rejected_reasons(response) == [(coupon.code, "coupon_min_spend")]


def test_unknown_codes_and_other_merchants_coupons_are_not_found(
    merchant_api, other_merchant, shopper, catalog
):
    theirs = CouponFactory(template__merchant=other_merchant, shopper=shopper)

    response = validate(merchant_api, cart(shopper, ["NOSUCHCODE22", theirs.code]))

    assert rejected_reasons(response) == [
        ("NOSUCHCODE22", "coupon_not_found"),
        (theirs.code, "coupon_not_found"),
    ]


def test_another_shoppers_coupon_is_not_owned(merchant_api, merchant, shopper, other_shopper, catalog):
    coupon = CouponFactory(template__merchant=merchant, shopper=other_shopper)

    response = validate(merchant_api, cart(shopper, [coupon.code]))

    assert rejected_reasons(response) == [(coupon.code, "coupon_not_owned")]


def test_an_unknown_shopper_is_not_created(merchant_api, merchant, catalog):
    coupon = CouponFactory(template__merchant=merchant)

    response = validate(merchant_api, cart("never-seen-before", [coupon.code]))

    assert rejected_reasons(response) == [(coupon.code, "coupon_not_owned")]
    assert not Shopper.objects.filter(external_id="never-seen-before").exists()


def test_a_second_coupon_that_does_not_stack_is_rejected(merchant_api, merchant, shopper, catalog):
    first = CouponFactory(template__merchant=merchant, shopper=shopper)
    second = CouponFactory(template__merchant=merchant, shopper=shopper)

    response = validate(merchant_api, cart(shopper, [first.code, second.code]))

    assert response.json()["applied"] == [first.code]
    assert rejected_reasons(response) == [(second.code, "coupon_not_stackable")]
    assert response.json()["discount"] == "5.00"


def test_stackable_coupons_apply_together(merchant_api, merchant, shopper, catalog):
    first = CouponFactory(template__merchant=merchant, template__stackable=True, shopper=shopper)
    second = CouponFactory(template__merchant=merchant, template__stackable=True, shopper=shopper)

    response = validate(merchant_api, cart(shopper, [first.code, second.code]))

    assert response.json()["applied"] == [first.code, second.code]
    assert response.json()["discount"] == "10.00"


@pytest.mark.parametrize(
    ("change", "code", "attr"),
    [
        ({"coupon_codes": ["AAAAAAAAAAAA", "AAAAAAAAAAAA"]}, "duplicate_coupon_code", "coupon_codes"),
        ({"coupon_codes": [f"CODE{i}" for i in range(11)]}, "max_length", "coupon_codes"),
        ({"lines": [{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]}, "unknown_sku", "lines"),
        (
            {"lines": [{"sku": "HAT", "quantity": 1, "unit_price": "1.00"}] * 2},
            "duplicate_sku",
            "lines",
        ),
        ({"lines": []}, "empty", "lines"),
        ({"lines": [{"sku": "HAT", "quantity": 0, "unit_price": "1.00"}]}, "min_value", "lines.0.quantity"),
        ({"shopper": ""}, "blank", "shopper"),
    ],
)
def test_bad_cart_is_a_400_and_writes_nothing(merchant_api, shopper, catalog, change, code, attr):
    response = validate(merchant_api, {**cart(shopper, []), **change})

    assert_error(response, 400, code, attr)


def test_missing_coupon_codes_is_a_400(merchant_api, shopper, catalog):
    body = cart(shopper, [])
    del body["coupon_codes"]

    assert_error(validate(merchant_api, body), 400, "required", "coupon_codes")


def test_another_merchants_product_is_an_unknown_sku(other_merchant_api, shopper, catalog):
    assert_error(validate(other_merchant_api, cart(shopper, [])), 400, "unknown_sku", "lines")


def test_validate_needs_the_merchants_key(api, shopper_api, shopper, catalog):
    assert_error(validate(api, cart(shopper, [])), 401, "not_authenticated")
    assert_error(validate(shopper_api, cart(shopper, [])), 401, "wrong_credential_kind")


def test_trailing_slash_works_too(merchant_api, shopper, catalog):
    assert merchant_api.post(f"{VALIDATE}/", cart(shopper, []), format="json").status_code == 200


def test_validation_takes_four_queries_whatever_the_coupons_scope(
    merchant_api, merchant, shopper, catalog, shoes, django_assert_max_num_queries
):
    # Given two stackable coupons, one on a category and one on listed products
    on_shoes = CouponFactory(
        template__merchant=merchant, template__scope="category", template__category=shoes,
        template__stackable=True, shopper=shopper,
    )  # fmt: skip
    listed = CouponTemplateFactory(merchant=merchant, scope="products", stackable=True)
    listed.products.set([catalog["HAT"]])
    on_hats = CouponFactory(template=listed, shopper=shopper)

    # When the cart is validated: the key, the products, the shopper, the coupons (with
    # their templates and listed products)
    before = row_counts()
    with django_assert_max_num_queries(4):
        response = merchant_api.post(VALIDATE, cart(shopper, [on_shoes.code, on_hats.code]), format="json")
    assert row_counts() == before

    assert response.status_code == 200, response.content
    assert sorted(response.json()["applied"]) == sorted([on_shoes.code, on_hats.code])

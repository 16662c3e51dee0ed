"""GET /api/v1/me/coupons: a shopper's own coupons with their terms."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coupons.models import Coupon
from tests.conftest import assert_error
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.storefront.factories import CategoryFactory, ProductFactory

MY_COUPONS = "/api/v1/me/coupons"


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [c["code"] for c in response.json()["results"]]


def test_a_shopper_sees_their_coupons_with_the_terms(shopper_api, shopper, merchant):
    template = CouponTemplateFactory(
        merchant=merchant,
        name="20% off shoes",
        kind="percent",
        value=Decimal("20"),
        max_discount=Decimal("15"),
        min_spend=Decimal("30"),
        scope="category",
        category=CategoryFactory(merchant=merchant, slug="shoes"),
    )
    coupon = CouponFactory(template=template, shopper=shopper, source="repurchase")

    response = shopper_api.get(MY_COUPONS)

    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    [item] = body["results"]
    assert (item["code"], item["merchant"], item["state"], item["source"]) == (
        coupon.code,
        merchant.slug,
        "issued",
        "repurchase",
    )
    assert item["expires_at"] and item["issued_at"]
    assert item["redeemed_at"] is None and item["valid_from"] is None
    terms = item["template"]
    assert (terms["id"], terms["name"], terms["kind"], terms["value"]) == (
        template.pk,
        "20% off shoes",
        "percent",
        "20.00",
    )
    assert (terms["max_discount"], terms["min_spend"], terms["scope"], terms["category"]) == (
        "15.00",
        "30.00",
        "category",
        "shoes",
    )


def test_another_shoppers_coupons_are_not_listed(shopper_api, other_shopper, merchant):
    CouponFactory(template__merchant=merchant, shopper=other_shopper)

    assert codes(shopper_api.get(MY_COUPONS)) == []


def test_filter_by_merchant(shopper_api, shopper, merchant, other_merchant):
    here = CouponFactory(template__merchant=merchant, shopper=shopper)
    CouponFactory(template__merchant=other_merchant, shopper=shopper)

    assert codes(shopper_api.get(MY_COUPONS, {"merchant": merchant.slug})) == [here.code]


@pytest.fixture
def one_of_each(shopper, merchant) -> dict[str, Coupon]:
    now = timezone.now()
    make = {
        "usable": {},
        "not_started": {"valid_from": now + timedelta(days=1)},
        "redeemed": {"state": "redeemed", "redeemed_at": now},
        "expired": {"state": "expired", "expires_at": now - timedelta(days=1)},
        "past_its_date": {"expires_at": now - timedelta(minutes=1)},  # the nightly job has not run yet
        "void": {"state": "void"},
    }
    return {
        name: CouponFactory(template__merchant=merchant, shopper=shopper, **f) for name, f in make.items()
    }


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("usable", ["usable"]),
        ("redeemed", ["redeemed"]),
        ("expired", ["expired", "past_its_date"]),
        (None, ["usable", "not_started", "redeemed", "expired", "past_its_date", "void"]),
    ],
)
def test_filter_by_state(shopper_api, one_of_each, state, expected):
    params = {"state": state} if state else {}

    listed = codes(shopper_api.get(MY_COUPONS, params))

    assert sorted(listed) == sorted(one_of_each[name].code for name in expected)


def test_newest_first(shopper_api, shopper, merchant):
    older = CouponFactory(template__merchant=merchant, shopper=shopper)
    newer = CouponFactory(template__merchant=merchant, shopper=shopper)

    assert codes(shopper_api.get(MY_COUPONS)) == [newer.code, older.code]


@pytest.mark.parametrize(
    ("params", "status", "code", "attr"),
    [
        ({"state": "bogus"}, 400, "invalid_choice", "state"),
        ({"merchant": "not a slug"}, 400, "invalid", "merchant"),
        ({"merchant": "no-such-merchant"}, 400, "merchant_not_found", "merchant"),
    ],
)
def test_bad_filters(shopper_api, db, params, status, code, attr):
    assert_error(shopper_api.get(MY_COUPONS, params), status, code, attr)


def test_my_coupons_needs_a_shopper_token(api, merchant_api):
    assert_error(api.get(MY_COUPONS), 401, "not_authenticated")
    assert_error(merchant_api.get(MY_COUPONS), 401, "wrong_credential_kind")


def test_the_list_costs_the_same_queries_for_2_and_20_coupons(shopper_api, shopper, merchant, other_merchant):
    category = CategoryFactory()

    def make(n):
        for i in range(n):
            owner = merchant if i % 2 else other_merchant
            CouponFactory(
                template__merchant=owner,
                template__scope="category",
                template__category=category,
                shopper=shopper,
            )
        with CaptureQueriesContext(connection) as queries:
            response = shopper_api.get(MY_COUPONS)
        assert response.status_code == 200
        return len(queries), len(response.json()["results"])

    small, shown_small = make(2)
    large, shown_large = make(18)

    assert (shown_small, shown_large) == (2, 20)
    assert small == large


def test_each_coupon_says_whether_it_is_usable_in_the_filters_words(shopper_api, shopper, merchant):
    # given: one coupon of each kind the `state=usable` filter separates
    now = timezone.now()
    template = CouponTemplateFactory(merchant=merchant)
    usable = CouponFactory(template=template, shopper=shopper)
    CouponFactory(template=template, shopper=shopper, expires_at=now - timedelta(days=1))
    CouponFactory(template=template, shopper=shopper, valid_from=now + timedelta(days=1))
    CouponFactory(template=template, shopper=shopper, state="redeemed", redeemed_at=now)

    rows = shopper_api.get(MY_COUPONS).json()["results"]
    usable_rows = shopper_api.get(MY_COUPONS, {"state": "usable"}).json()["results"]

    # then: `usable: true` on exactly the coupons the filter lists, whatever their `state`
    assert [r["code"] for r in rows if r["usable"]] == [usable.code]
    assert [r["code"] for r in usable_rows] == [usable.code]
    assert sorted(r["state"] for r in rows) == ["issued", "issued", "issued", "redeemed"]


def test_a_page_of_usable_coupons_takes_two_queries_whatever_their_number(
    shopper_api, shopper, merchant, django_assert_max_num_queries
):
    # Given more usable coupons than a page, of templates of every scope
    category = CategoryFactory(merchant=merchant)
    for scope in ("all", "category", "products"):
        template = CouponTemplateFactory(
            merchant=merchant, scope=scope, category=category if scope == "category" else None
        )
        for _ in range(20):
            CouponFactory(template=template, shopper=shopper)

    # When the shopper reads the usable ones: the token, then the page (template,
    # category and merchant joined in)
    with django_assert_max_num_queries(2):
        response = shopper_api.get(MY_COUPONS, {"state": "usable"})

    assert len(codes(response)) == 50 and response.json()["next"]


def test_each_listed_coupon_is_what_the_schemas_serializer_makes_of_it(shopper_api, shopper, merchant):
    """The list builds its answer directly (``coupon_answer``); ``CouponOutput`` is the schema."""
    from django.test import override_settings
    from django.utils import timezone as tz

    from coupons.apis import CouponOutput

    now = timezone.now()
    category = CategoryFactory(merchant=merchant, slug="lips")
    listed_product = ProductFactory(merchant=merchant)
    listed = CouponTemplateFactory(merchant=merchant, scope="products", kind="fixed", value=Decimal("3.5"))
    listed.products.set([listed_product])
    templates = [
        CouponTemplateFactory(
            merchant=merchant, kind="percent", value=Decimal("10"), max_discount=Decimal("15")
        ),
        CouponTemplateFactory(
            merchant=merchant, scope="category", category=category, min_spend=Decimal("20")
        ),
        listed,
        CouponTemplateFactory(
            merchant=merchant,
            valid_days=None,
            valid_from=now - timedelta(days=2),
            valid_until=now + timedelta(days=9),
            stock=100,
            points_price=300,
            stackable=True,
            per_member_limit=2,
        ),
    ]
    for template in templates:
        CouponFactory(template=template, shopper=shopper, source="campaign")
    CouponFactory(template=templates[0], shopper=shopper, state="redeemed", redeemed_at=now)
    CouponFactory(template=templates[1], shopper=shopper, expires_at=now - timedelta(hours=1))
    CouponFactory(template=templates[2], shopper=shopper, valid_from=now + timedelta(days=1))

    for zone in ("UTC", "Asia/Taipei"):
        with override_settings(TIME_ZONE=zone):
            tz.activate(zone)
            try:
                rows = shopper_api.get(MY_COUPONS).json()["results"]
                coupons = Coupon.objects.filter(shopper=shopper).select_related(
                    "template__category", "merchant"
                )
                expected = CouponOutput(coupons.order_by("-id"), many=True, context={"now": now}).data
            finally:
                tz.deactivate()
        assert len(rows) == 7
        assert [list(r) for r in rows] == [list(e) for e in expected]  # key order too
        assert rows == [_as_json(e) for e in expected]


def _as_json(data) -> dict:
    import json

    from rest_framework.utils.encoders import JSONEncoder

    return json.loads(json.dumps(data, cls=JSONEncoder))


def test_pages_walk_the_coupons_newest_first_without_repeats_and_refuse_a_tampered_cursor(
    shopper_api, shopper, merchant
):
    template = CouponTemplateFactory(merchant=merchant)
    made = [CouponFactory(template=template, shopper=shopper).code for _ in range(5)]

    first = shopper_api.get(MY_COUPONS, {"page_size": 2}).json()
    second = shopper_api.get(first["next"]).json()
    third = shopper_api.get(second["next"]).json()
    back = shopper_api.get(third["previous"]).json()

    walked = [c["code"] for page in (first, second, third) for c in page["results"]]
    assert walked == made[::-1]
    assert third["next"] is None and first["previous"] is None
    assert [c["code"] for c in back["results"]] == [c["code"] for c in second["results"]]
    assert_error(shopper_api.get(MY_COUPONS, {"cursor": "not-a-cursor"}), 400, "invalid_cursor", "cursor")

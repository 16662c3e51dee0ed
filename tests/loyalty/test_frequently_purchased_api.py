"""GET /api/v1/me/frequently-purchased: what the shopper buys again and again."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from coupons import selectors as coupon_selectors
from coupons.models import Coupon, CouponTemplate
from coupons.rules import CartLine, in_scope
from loyalty.apis.shopper import FrequentlyPurchasedOutput
from storefront import selectors as storefront_selectors
from storefront.models import PurchaseStat
from tests.conftest import assert_error, merchant_client
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.loyalty.conftest import ORDERS, order_body
from tests.loyalty.factories import ProgramFactory
from tests.storefront.factories import CategoryFactory, ProductFactory

FREQUENT = "/api/v1/me/frequently-purchased"
DAY0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)

# The token, one page of stats (with product, merchant, category; the merchant filter a
# subquery in it), the purchase times of the repeated ones, the usable coupons with their
# product lists.
FREQUENT_QUERIES = 4


def buy(api, shopper, external_id: str, day: int, *skus: str) -> None:
    body = order_body(
        shopper.external_id,
        external_id,
        lines=[(sku, 1, "5.00") for sku in skus],
        paid_at=(DAY0 + timedelta(days=day)).isoformat(),
    )
    response = api.post(ORDERS, body, format="json")
    assert response.status_code == 201, response.content


def at(day: float) -> str:
    return (DAY0 + timedelta(days=day)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def history(merchant, catalog, shopper):
    """S0 bought on days 0, 10, 30; S1 on days 1 and 5; S2 once, on day 40."""
    api = merchant_client(merchant)
    buy(api, shopper, "o-1", 0, "S0")
    buy(api, shopper, "o-2", 1, "S1")
    buy(api, shopper, "o-3", 5, "S1")
    buy(api, shopper, "o-4", 10, "S0")
    buy(api, shopper, "o-5", 30, "S0")
    buy(api, shopper, "o-6", 40, "S2")
    return api


def test_most_often_bought_first_with_due_again_from_the_median_interval(shopper_api, merchant, history):
    response = shopper_api.get(FREQUENT)

    assert response.status_code == 200
    rows = [
        (r["product"]["sku"], r["times_purchased"], r["last_purchased_at"], r["due_again"])
        for r in response.json()["results"]
    ]
    assert rows == [
        ("S0", 3, at(30), at(30 + 15)),  # gaps 10 and 20 days: median 15
        ("S1", 2, at(5), at(5 + 4)),
        ("S2", 1, at(40), None),  # bought once: no estimate
    ]
    first = response.json()["results"][0]
    assert (first["product"]["merchant"], first["product"]["price"], first["quantity"]) == (
        merchant.slug,
        "10.00",
        3,
    )
    assert first["coupon"] is None


def test_equal_counts_are_ordered_by_the_latest_purchase(shopper_api, merchant, catalog, shopper):
    api = merchant_client(merchant)
    buy(api, shopper, "o-1", 0, "S0")
    buy(api, shopper, "o-2", 3, "S1")
    buy(api, shopper, "o-3", 2, "S2")

    skus = [r["product"]["sku"] for r in shopper_api.get(FREQUENT).json()["results"]]

    assert skus == ["S1", "S2", "S0"]


def test_the_list_holds_only_the_shoppers_own_purchases(shopper_api, history, other_shopper, shopper):
    # another shopper's purchases of the same products change nothing here
    buy(history, other_shopper, "x-1", 31, "S2")
    buy(history, other_shopper, "x-2", 32, "S2")
    buy(history, other_shopper, "x-3", 33, "S2")

    rows = {r["product"]["sku"]: r for r in shopper_api.get(FREQUENT).json()["results"]}

    assert rows["S2"]["times_purchased"] == 1
    assert rows["S2"]["due_again"] is None


def test_a_shopper_who_bought_nothing_sees_an_empty_list(other_shopper_api, history):
    assert other_shopper_api.get(FREQUENT).json()["results"] == []


def test_the_list_can_be_narrowed_to_one_merchant(shopper_api, history, shopper, other_merchant):
    ProgramFactory(merchant=other_merchant)
    ProductFactory(merchant=other_merchant, sku="T0")
    buy(merchant_client(other_merchant), shopper, "t-1", 2, "T0")

    everything = shopper_api.get(FREQUENT).json()["results"]
    theirs = shopper_api.get(FREQUENT, {"merchant": other_merchant.slug}).json()["results"]

    assert len(everything) == 4
    assert [(r["product"]["sku"], r["product"]["merchant"]) for r in theirs] == [("T0", other_merchant.slug)]


def test_an_unknown_merchant_filter_is_400_on_the_filter(shopper_api, history):
    assert_error(
        shopper_api.get(FREQUENT, {"merchant": "no-such-shop"}), 400, "merchant_not_found", "merchant"
    )


def test_frequently_purchased_without_a_token_is_401(api):
    assert api.get(FREQUENT).status_code == 401


@pytest.mark.parametrize("products", [2, 20])
@pytest.mark.parametrize("by_merchant", [False, True], ids=["all", "one merchant"])
def test_query_count_does_not_grow_with_products(
    shopper_api, merchant, program, shopper, django_assert_max_num_queries, products, by_merchant
):
    api = merchant_client(merchant)
    skus = [ProductFactory(merchant=merchant, sku=f"P{i}").sku for i in range(products)]
    for day in range(3):
        buy(api, shopper, f"o-{day}", day, *skus)

    with django_assert_max_num_queries(FREQUENT_QUERIES):
        response = shopper_api.get(FREQUENT, {"merchant": merchant.slug} if by_merchant else {})

    assert [r["due_again"] is not None for r in response.json()["results"]] == [True] * products


def test_an_unknown_merchant_filter_is_400_whatever_the_cursor(shopper_api, history):
    response = shopper_api.get(FREQUENT, {"merchant": "no-such-shop", "cursor": "x"})

    assert_error(response, 400, "merchant_not_found", "merchant")


def test_a_known_merchant_without_purchases_is_an_empty_list(shopper_api, history, other_merchant):
    assert shopper_api.get(FREQUENT, {"merchant": other_merchant.slug}).json()["results"] == []


def test_a_tampered_cursor_is_400(shopper_api, history):
    assert_error(shopper_api.get(FREQUENT, {"cursor": "tampered"}), 400, "invalid_cursor", "cursor")


def test_the_pages_follow_the_order_and_read_back_the_same(shopper_api, history):
    pages = [shopper_api.get(FREQUENT, {"page_size": 1}).json()]
    while pages[-1]["next"]:
        pages.append(shopper_api.get(pages[-1]["next"]).json())
    back = [pages[-1]]
    while back[-1]["previous"]:
        back.append(shopper_api.get(back[-1]["previous"]).json())

    assert [r["product"]["sku"] for page in pages for r in page["results"]] == ["S0", "S1", "S2"]
    assert [page["results"] for page in reversed(back)] == [page["results"] for page in pages]


def _old_answer(shopper, now) -> bytes:
    """What the list answered before it was written out: the ORM's stats, the repurchase
    coupons and product lists as ``frequently_purchased_details`` read them, the serializer."""
    stats = list(
        PurchaseStat.objects.filter(shopper=shopper)
        .select_related("product__merchant", "product__category")
        .order_by("-times_purchased", "-last_purchased_at", "-id")
    )
    due = storefront_selectors.purchase_due_again(shopper=shopper, stats=stats)
    coupons = list(
        Coupon.objects.filter(
            coupon_selectors.usable_q(now),
            shopper=shopper,
            merchant_id__in={s.merchant_id for s in stats},
            source=Coupon.Source.REPURCHASE,
        )
        .select_related("template__category", "merchant")
        .order_by("expires_at", "id")
    )
    product_ids = coupon_selectors.template_product_ids(coupons=coupons)
    for stat in stats:
        stat.due_again = due.get(stat.product_id)
        line = CartLine.of(stat.product, quantity=1, unit_price=stat.product.price)
        stat.coupon = next(
            (
                c
                for c in coupons
                if c.merchant_id == stat.merchant_id
                and in_scope(c.template, line, product_ids.get(c.template_id, frozenset()))
            ),
            None,
        )
    return JSONRenderer().render(FrequentlyPurchasedOutput(stats, many=True).data)


def test_the_answer_built_directly_is_the_serializers_answer(
    shopper_api, merchant, catalog, shopper, history, other_merchant
):
    # Given a product with a category, coupons of every scope and source (a manual coupon
    # that expires first and covers all, a category one, a listed one, one of another
    # merchant, a used one), microseconds and a price with cents
    now = timezone.now()
    category = CategoryFactory(merchant=merchant)
    catalog[2].category = category
    catalog[2].price = Decimal("7.5")
    catalog[2].save()
    listed = CouponTemplateFactory(
        merchant=merchant, scope=CouponTemplate.Scope.PRODUCTS, value=Decimal("1.25")
    )
    listed.products.set([catalog[1]])
    by_category = CouponTemplateFactory(
        merchant=merchant, scope=CouponTemplate.Scope.CATEGORY, category=category, max_discount=Decimal("2")
    )
    repurchase = Coupon.Source.REPURCHASE
    CouponFactory(template__merchant=merchant, shopper=shopper, expires_at=now + timedelta(days=1))
    CouponFactory(template=listed, shopper=shopper, source=repurchase, expires_at=now + timedelta(days=2))
    CouponFactory(
        template=by_category,
        shopper=shopper,
        source=repurchase,
        expires_at=now + timedelta(days=3, microseconds=123456),
        valid_from=now - timedelta(days=1),
    )
    CouponFactory(template__merchant=other_merchant, shopper=shopper, source=repurchase)
    CouponFactory(
        template__merchant=merchant,
        shopper=shopper,
        source=repurchase,
        state=Coupon.State.REDEEMED,
        redeemed_at=now,
    )

    response = shopper_api.get(FREQUENT)

    # Then the answer is, byte for byte, what the serializer made of the ORM's models
    assert response.status_code == 200, response.content
    expected = _old_answer(shopper, now)
    assert json.dumps(response.json()["results"]) == json.dumps(json.loads(expected))
    coupons = {
        r["product"]["sku"]: r["coupon"] and r["coupon"]["template"]["scope"]
        for r in response.json()["results"]
    }
    assert coupons == {"S0": None, "S1": "products", "S2": "category"}

"""GET /api/v1/me/feed: new products of followed merchants and memberships, ranked, paged stably."""

import json
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from rest_framework.renderers import JSONRenderer

from coupons.models import Coupon
from coupons.selectors import usable_q
from loyalty.apis.feed import FeedItemOutput
from storefront import feed
from storefront.affinity import Affinity
from storefront.models import Product
from tests.clock import T0
from tests.conftest import assert_error, row_counts
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.members.factories import AccountFactory, FollowFactory, MembershipFactory, MerchantFactory
from tests.storefront.factories import CategoryFactory, PreferenceFactory, ProductFactory

FEED = "/api/v1/me/feed"
HOUR = timedelta(hours=1)
# The token, the shopper's preferences (first page only; later pages read them from the
# cursor, and the budget is the same), the page of products (with the merchants the
# shopper follows or belongs to, read in the same statement), the usable coupons.
FEED_QUERIES = 4


@pytest.fixture
def followed(shopper):
    merchant = MerchantFactory(slug="followed-shop")
    FollowFactory(shopper=shopper, account=AccountFactory(merchant=merchant))
    return merchant


@pytest.fixture
def member_of(shopper):
    merchant = MerchantFactory(slug="member-shop")
    MembershipFactory(shopper=shopper, merchant=merchant)
    return merchant


def published(merchant, ago: timedelta, **fields):
    return ProductFactory(merchant=merchant, published_at=T0 - ago, **fields)


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["product"]["sku"] for item in response.json()["results"]]


def next_cursor(response) -> str:
    return parse_qs(urlparse(response.json()["next"]).query)["cursor"][0]


def test_the_feed_holds_recent_products_of_followed_and_member_merchants(
    shopper_api, followed, member_of, clock
):
    published(followed, 2 * HOUR, sku="F-1")
    published(member_of, 1 * HOUR, sku="M-1")
    published(MerchantFactory(), 1 * HOUR, sku="STRANGER")
    published(followed, timedelta(days=31), sku="TOO-OLD")
    ProductFactory(merchant=followed, sku="DRAFT", published_at=None)

    response = shopper_api.get(FEED)

    assert skus(response) == ["M-1", "F-1"]
    items = response.json()["results"]
    assert [(i["merchant"]["slug"], i["reason"]) for i in items] == [
        ("member-shop", "member"),
        ("followed-shop", "followed"),
    ]
    assert response.json()["next"] is None


def test_a_merchant_both_followed_and_joined_is_there_as_a_membership(shopper_api, shopper, followed, clock):
    MembershipFactory(shopper=shopper, merchant=followed)
    published(followed, HOUR, sku="F-1")

    assert shopper_api.get(FEED).json()["results"][0]["reason"] == "member"


def test_preference_match_lifts_a_product_by_up_to_the_boost(shopper, shopper_api, followed, clock):
    # given: tea 3 and green 1, normalised to 0.75 and 0.25
    PreferenceFactory(shopper=shopper, kind="category", slug="tea", weight=3.0, updated_at=T0)
    PreferenceFactory(shopper=shopper, kind="tag", slug="green", weight=1.0, updated_at=T0)
    tea = CategoryFactory(slug="tea")
    published(followed, 40 * HOUR, sku="GREEN-TEA", category=tea, tags=["green"])  # -40h + 48h = +8h
    published(followed, 30 * HOUR, sku="TEA", category=tea, tags=[])  # -30h + 36h = +6h
    published(followed, 1 * HOUR, sku="PLAIN", category=CategoryFactory(slug="cups"), tags=[])  # -1h
    published(followed, 10 * HOUR, sku="GREEN-CUP", category=None, tags=["green"])  # -10h + 12h = +2h

    assert skus(shopper_api.get(FEED)) == ["GREEN-TEA", "TEA", "GREEN-CUP", "PLAIN"]


def test_the_rank_rule_written_in_python_is_the_one_the_query_uses():
    preferences = [Affinity("category", "tea", 0.75), Affinity("tag", "green", 0.25)]

    rank = feed.rank_of(
        published_at=T0 - 40 * HOUR, carried={("category", "tea"), ("tag", "green")}, preferences=preferences
    )

    assert rank == int((T0 + 8 * HOUR).timestamp())


def test_pages_neither_repeat_nor_skip_while_products_arrive_and_preferences_move(
    shopper, shopper_api, followed, clock, monkeypatch
):
    monkeypatch.setattr(feed, "PAGE_SIZE", 4)
    # given: ten products, two pairs published in the same second (ties go by id)
    ages = [1, 2, 3, 4, 4, 5, 6, 6, 7, 8]
    for n, minutes in enumerate(ages):
        published(followed, timedelta(minutes=minutes), sku=f"P{n}", tags=[f"t{n}"])
    first = shopper_api.get(FEED)

    # when: new products are published and a preference makes an old one a perfect match
    clock.now = T0 + timedelta(minutes=5)
    for n in range(3):
        ProductFactory(merchant=followed, sku=f"NEW{n}", published_at=clock.now)
    PreferenceFactory(shopper=shopper, kind="tag", slug="t9", weight=5.0, updated_at=clock.now)
    second = shopper_api.get(FEED, {"cursor": next_cursor(first)})
    third = shopper_api.get(FEED, {"cursor": next_cursor(second)})

    # then: the ten in order (the later id first in a tie), each once, and nothing of what
    # came after the first page
    in_order = ["P0", "P1", "P2", "P4", "P3", "P5", "P7", "P6", "P8", "P9"]
    assert skus(first) + skus(second) + skus(third) == in_order
    assert third.json()["next"] is None
    # and a fresh first page shows the new products and the lifted one at the top
    assert skus(shopper_api.get(FEED))[:4] == ["P9", "NEW2", "NEW1", "NEW0"]


def test_a_tampered_cursor_is_refused_and_writes_nothing(shopper_api, followed, clock, monkeypatch):
    monkeypatch.setattr(feed, "PAGE_SIZE", 1)
    published(followed, HOUR, sku="A")
    published(followed, 2 * HOUR, sku="B")
    cursor = next_cursor(shopper_api.get(FEED))
    tampered = cursor[:-3] + ("xyz" if not cursor.endswith("xyz") else "abc")
    before = row_counts()

    for bad in (tampered, "not-a-cursor", cursor.replace(":", "", 1)):
        assert_error(shopper_api.get(FEED, {"cursor": bad}), 400, "invalid_cursor", "cursor")
    assert row_counts() == before


def test_each_item_shows_a_usable_coupon_of_its_merchant_that_covers_it(
    shopper, other_shopper, shopper_api, followed, member_of, clock
):
    covered = published(followed, HOUR, sku="COVERED")
    published(member_of, 2 * HOUR, sku="NONE")
    coupon = CouponFactory(shopper=shopper, template=CouponTemplateFactory(merchant=followed))
    CouponFactory(shopper=other_shopper, template=CouponTemplateFactory(merchant=member_of))
    CouponFactory(
        shopper=shopper,
        template=CouponTemplateFactory(merchant=member_of, scope="category", category=covered.category),
    )

    items = shopper_api.get(FEED).json()["results"]

    assert [(i["product"]["sku"], i["coupon"] and i["coupon"]["code"]) for i in items] == [
        ("COVERED", coupon.code),
        ("NONE", None),
    ]


def test_every_page_costs_the_same_few_queries(
    shopper, shopper_api, followed, member_of, clock, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(feed, "PAGE_SIZE", 5)
    PreferenceFactory(shopper=shopper, kind="tag", slug="t1", weight=1.0, updated_at=T0)
    for n in range(12):
        published(followed if n % 2 else member_of, timedelta(minutes=n), sku=f"P{n}", tags=[f"t{n}"])
        CouponFactory(shopper=shopper, template=CouponTemplateFactory(merchant=followed))

    with django_assert_num_queries(FEED_QUERIES):
        first = shopper_api.get(FEED)
    # a later page reads its preferences from the cursor and is never dearer
    with django_assert_num_queries(FEED_QUERIES - 1):
        second = shopper_api.get(FEED, {"cursor": next_cursor(first)})

    assert len(skus(first)) == len(skus(second)) == 5


def test_another_shoppers_feed_does_not_show_what_i_follow(other_shopper_api, followed, clock):
    published(followed, HOUR, sku="MINE")

    assert skus(other_shopper_api.get(FEED)) == []


def test_the_feed_needs_a_shopper_token(api, merchant_api):
    assert api.get(FEED).status_code == 401
    assert merchant_api.get(FEED).status_code == 401


def test_the_pages_rank_every_product_of_the_window_as_the_rule_says(
    shopper, shopper_api, followed, member_of, clock, monkeypatch
):
    # Given products spread over days (so most lie outside a page's reach of 48 hours)
    # and preferences that lift some by up to the boost
    monkeypatch.setattr(feed, "PAGE_SIZE", 5)
    PreferenceFactory(shopper=shopper, kind="category", slug="tea", weight=3.0, updated_at=T0)
    PreferenceFactory(shopper=shopper, kind="tag", slug="green", weight=1.0, updated_at=T0)
    tea, cups = CategoryFactory(slug="tea"), CategoryFactory(slug="cups")
    products = []
    for n in range(60):
        merchant = followed if n % 3 else member_of
        ago = timedelta(hours=(n * 37) % 700 + 1)
        products.append(
            published(merchant, ago, sku=f"P{n}", category=tea if n % 4 == 0 else cups,
                      tags=["green"] if n % 5 == 0 else [])
        )  # fmt: skip

    # When every page is read
    seen, response = [], shopper_api.get(FEED)
    while True:
        seen += skus(response)
        if response.json()["next"] is None:
            break
        response = shopper_api.get(FEED, {"cursor": next_cursor(response)})

    # Then they are the window's products in the order of the rule written in Python
    preferences = [Affinity("category", "tea", 0.75), Affinity("tag", "green", 0.25)]

    def key(p):
        carried = {("category", p.category.slug), *(("tag", t) for t in p.tags)}
        return (feed.rank_of(published_at=p.published_at, carried=carried, preferences=preferences), p.pk)

    window = [p for p in products if p.published_at >= T0 - timedelta(days=30)]
    assert seen == [p.sku for p in sorted(window, key=key, reverse=True)]


def test_the_answer_built_directly_is_the_serializers_answer(
    shopper, shopper_api, followed, member_of, clock
):
    # Given a page with every kind of field: a category or none, tags, odd prices and times,
    # and coupons of every scope, with and without their optional terms
    tea = CategoryFactory(merchant=followed, slug="tea")
    minute = timedelta(minutes=1)
    shown = [
        published(followed, minute, sku="TEA", category=tea, tags=["green", "leaf"], price=Decimal("12.30")),
        published(followed, 2 * minute + timedelta(microseconds=250), sku="CUP", category=None, tags=[]),
        published(member_of, 3 * minute, sku="LISTED", price=Decimal("1234567.89")),
        published(member_of, 4 * minute, sku="PLAIN", price=Decimal("0.00")),
    ]
    listing = CouponTemplateFactory(
        merchant=member_of,
        scope="products",
        kind="percent",
        value=Decimal("15"),
        max_discount=Decimal("20.00"),
        stock=100,
        points_price=300,
        stackable=True,
    )
    listing.products.add(shown[2])
    CouponFactory(shopper=shopper, template=listing, source="exchange", expires_at=T0 + timedelta(days=2))
    window = CouponTemplateFactory(
        merchant=followed,
        scope="category",
        category=tea,
        valid_days=None,
        valid_from=T0 - HOUR,
        valid_until=T0 + 9 * HOUR,
    )
    CouponFactory(
        shopper=shopper,
        template=window,
        valid_from=T0 - timedelta(seconds=1, microseconds=5),
        expires_at=T0 + 9 * HOUR,
    )
    CouponFactory(shopper=shopper, template=CouponTemplateFactory(merchant=followed, min_spend=Decimal("50")))

    response = shopper_api.get(FEED)

    # Then the answer is, byte for byte, what the serializers make of the models
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["coupon"] is not None for r in results] == [True, True, True, False]
    products = Product.objects.select_related("merchant", "category").in_bulk([p.pk for p in shown])
    by_sku = {p.sku: p for p in products.values()}
    page = []
    for item in results:
        product = by_sku[item["product"]["sku"]]
        product.reason = "member" if product.merchant_id == member_of.pk else "followed"
        code = item["coupon"] and item["coupon"]["code"]
        coupons = Coupon.objects.select_related("template__category", "merchant")
        product.coupon = coupons.get(code=code) if code else None
        page.append(product)
    expected = FeedItemOutput(page, many=True, context={"now": T0}).data
    assert json.dumps(results) == json.dumps(json.loads(JSONRenderer().render(expected)))


@pytest.mark.parametrize(
    "state, valid_from, expires_at",
    [
        ("issued", None, T0 + HOUR),
        ("issued", T0, T0 + HOUR),
        ("issued", T0 + timedelta(seconds=1), T0 + HOUR),
        ("issued", None, T0),
        ("issued", None, T0 - HOUR),
        ("redeemed", None, T0 + HOUR),
        ("expired", None, T0 + HOUR),
        ("void", None, T0 + HOUR),
    ],
)
def test_the_feed_shows_the_coupons_usable_q_calls_usable(
    shopper, shopper_api, followed, clock, state, valid_from, expires_at
):
    published(followed, HOUR, sku="P")
    coupon = CouponFactory(
        shopper=shopper,
        template=CouponTemplateFactory(merchant=followed),
        state=state,
        valid_from=valid_from,
        expires_at=expires_at,
        redeemed_at=T0 - HOUR if state == "redeemed" else None,
    )
    usable = Coupon.objects.filter(usable_q(T0), pk=coupon.pk).exists()

    (item,) = shopper_api.get(FEED).json()["results"]

    assert (item["coupon"] and item["coupon"]["code"]) == (coupon.code if usable else None)

"""GET /api/v1/me/frequently-purchased: what the shopper buys again and again."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import assert_error, merchant_client
from tests.loyalty.conftest import ORDERS, order_body
from tests.loyalty.factories import ProgramFactory
from tests.storefront.factories import ProductFactory

FREQUENT = "/api/v1/me/frequently-purchased"
DAY0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)

# The token, one page of stats (with product, merchant, category), the purchase times of
# the repeated ones, the usable repurchase coupons (the merchant filter adds one).
FREQUENT_QUERIES = 5


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

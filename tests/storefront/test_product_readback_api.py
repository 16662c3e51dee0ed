"""GET /api/v1/merchant/products and GET .../products/{sku}: the catalog read back."""

import pytest
from django.utils import timezone

from tests.conftest import assert_error, walk_pages
from tests.storefront.factories import CategoryFactory, ProductFactory

PRODUCTS = "/api/v1/merchant/products"
# API key, page of products with their categories.
LIST_QUERIES = 2


def skus(rows) -> list[str]:
    return [row["sku"] for row in rows]


def test_the_catalog_reads_back_in_sku_order_as_it_was_written(merchant_api, merchant):
    makeup = CategoryFactory(merchant=merchant, slug="makeup")
    ProductFactory(merchant=merchant, sku="B-2", title="Blush", category=makeup, tags=["pink"])
    ProductFactory(merchant=merchant, sku="A-1", title="Lipstick", category=None, published_at=timezone.now())

    response = merchant_api.get(PRODUCTS)

    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None and body["previous"] is None
    assert skus(body["results"]) == ["A-1", "B-2"]
    assert body["results"][1] == {
        "sku": "B-2",
        "title": "Blush",
        "category": "makeup",
        "tags": ["pink"],
        "price": "10.00",
        "published": False,
        "published_at": None,
    }
    assert body["results"][0]["published_at"].endswith("Z")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"published": "true"}, ["LIP-1"]),
        ({"published": "false"}, ["LIP-2", "TEA-1"]),
        ({"category": "tea"}, ["TEA-1"]),
        ({"sku_prefix": "LIP-"}, ["LIP-1", "LIP-2"]),
        ({"sku_prefix": "LIP-", "published": "false"}, ["LIP-2"]),
    ],
)
def test_products_filter_by_published_category_and_sku_prefix(merchant_api, merchant, params, expected):
    tea = CategoryFactory(merchant=merchant, slug="tea")
    ProductFactory(merchant=merchant, sku="LIP-1", published_at=timezone.now())
    ProductFactory(merchant=merchant, sku="LIP-2")
    ProductFactory(merchant=merchant, sku="TEA-1", category=tea)

    assert skus(merchant_api.get(PRODUCTS, params).json()["results"]) == expected


@pytest.mark.parametrize(
    ("params", "code", "attr"),
    [
        ({"published": "yes"}, "invalid", "published"),
        ({"published": "null"}, "invalid", "published"),
        ({"category": "Not A Slug"}, "invalid_slug", "category"),
        ({"page_size": "0"}, "invalid_page_size", "page_size"),
        ({"page_size": "201"}, "invalid_page_size", "page_size"),
        ({"cursor": "forged"}, "invalid_cursor", "cursor"),
    ],
)
def test_bad_product_filters_are_400_on_the_parameter(merchant_api, merchant, params, code, attr):
    assert_error(merchant_api.get(PRODUCTS, params), 400, code, attr)


def test_another_merchants_products_are_never_listed_or_read(merchant_api, merchant, other_merchant):
    ProductFactory(merchant=merchant, sku="OURS")
    ProductFactory(merchant=other_merchant, sku="THEIRS")

    assert skus(merchant_api.get(PRODUCTS).json()["results"]) == ["OURS"]
    assert_error(merchant_api.get(f"{PRODUCTS}/THEIRS"), 404, "product_not_found")


def test_one_product_reads_back_by_sku(merchant_api, merchant):
    ProductFactory(merchant=merchant, sku="LIP-01", title="Velvet lipstick")

    response = merchant_api.get(f"{PRODUCTS}/LIP-01")

    assert response.status_code == 200
    assert (response.json()["sku"], response.json()["title"]) == ("LIP-01", "Velvet lipstick")


def test_paging_is_stable_while_products_are_added(merchant_api, merchant):
    for sku in ("A", "C", "E", "G"):
        ProductFactory(merchant=merchant, sku=sku)
    added = iter(["B", "D", "F", "H"])

    def add_one():
        sku = next(added, None)
        if sku:
            ProductFactory(merchant=merchant, sku=sku)

    rows = walk_pages(merchant_api, PRODUCTS, {"page_size": 2}, between=add_one)

    listed = skus(rows)
    assert len(listed) == len(set(listed))  # nothing twice
    assert {"A", "C", "E", "G"} <= set(listed)  # nothing that was there is skipped
    assert listed == sorted(listed)


@pytest.mark.parametrize("count", [3, 30])
def test_product_list_query_count_does_not_grow_with_products(
    merchant_api, merchant, django_assert_max_num_queries, count
):
    for i in range(count):
        ProductFactory(merchant=merchant, sku=f"S-{i:03}", category=CategoryFactory(merchant=merchant))

    with django_assert_max_num_queries(LIST_QUERIES):
        assert len(merchant_api.get(PRODUCTS).json()["results"]) == count

"""POST /api/v1/merchant/products and PATCH /api/v1/merchant/products/{sku}: the catalog."""

from decimal import Decimal

import pytest

from storefront.models import Category, Product
from tests.conftest import assert_error, merchant_client, row_counts
from tests.storefront.factories import CategoryFactory, ProductFactory

PRODUCTS = "/api/v1/merchant/products"


def product_body(**extra) -> dict:
    return {
        "sku": "LIP-01",
        "title": "Velvet lipstick",
        "category": "makeup",
        "tags": ["Lipstick", " matte ", "lipstick"],
        "price": "89.00",
        **extra,
    }


def product_url(sku: str = "LIP-01") -> str:
    return f"{PRODUCTS}/{sku}"


# --- Create -------------------------------------------------------------------------


def test_create_product_is_201_with_the_product(merchant_api, merchant):
    response = merchant_api.post(PRODUCTS, product_body(), format="json")

    assert response.status_code == 201, response.content
    assert response.json() == {
        "sku": "LIP-01",
        "title": "Velvet lipstick",
        "category": "makeup",
        "tags": ["lipstick", "matte"],
        "price": "89.00",
        "published": False,
        "published_at": None,
    }
    product = Product.objects.get(merchant=merchant, sku="LIP-01")
    assert (product.price, product.published_at) == (Decimal("89.00"), None)


def test_a_category_is_the_merchants_own_created_on_first_use_and_reused_after(
    merchant_api, merchant, other_merchant_api, other_merchant
):
    # when: two merchants name "makeup", one of them twice
    merchant_api.post(PRODUCTS, product_body(), format="json")
    merchant_api.post(PRODUCTS, product_body(sku="LIP-03"), format="json")
    other_merchant_api.post(PRODUCTS, product_body(sku="LIP-02"), format="json")

    # then: one "makeup" per merchant; the slug is the same interest across them
    assert sorted(Category.objects.values_list("merchant_id", "slug")) == [
        (merchant.pk, "makeup"),
        (other_merchant.pk, "makeup"),
    ]
    ours = Category.objects.get(merchant=merchant)
    assert set(Product.objects.filter(merchant=merchant).values_list("category", flat=True)) == {ours.pk}


def test_a_product_may_have_no_category(merchant_api):
    response = merchant_api.post(PRODUCTS, product_body(category=None), format="json")

    assert response.status_code == 201
    assert response.json()["category"] is None
    assert not Category.objects.exists()


def test_published_true_sets_published_at(merchant_api, merchant):
    response = merchant_api.post(PRODUCTS, product_body(published=True), format="json")

    assert response.json()["published"] is True
    assert Product.objects.get(sku="LIP-01").published_at is not None


def test_a_taken_sku_is_409_and_writes_nothing(merchant_api, merchant):
    ProductFactory(merchant=merchant, sku="LIP-01", title="Old")
    before = row_counts()

    response = merchant_api.post(PRODUCTS, product_body(category="brand-new"), format="json")

    assert_error(response, 409, "product_sku_taken")
    assert row_counts() == before
    assert Product.objects.get(sku="LIP-01").title == "Old"


def test_the_same_sku_at_another_merchant_is_fine(merchant_api, other_merchant):
    ProductFactory(merchant=other_merchant, sku="LIP-01")

    assert merchant_api.post(PRODUCTS, product_body(), format="json").status_code == 201


BAD_PRODUCTS = {
    "negative price": ({"price": "-0.01"}, "min_value", "price"),
    "three decimals": ({"price": "1.234"}, "max_decimal_places", "price"),
    "not money": ({"price": "abc"}, "invalid", "price"),
    "no price": ({"price": None}, "null", "price"),
    "no title": ({"title": ""}, "blank", "title"),
    "bad category slug": ({"category": "Make Up!"}, "invalid_slug", "category"),
    "tags not a list": ({"tags": "lipstick"}, "not_a_list", "tags"),
}


@pytest.mark.parametrize(("change", "code", "attr"), BAD_PRODUCTS.values(), ids=BAD_PRODUCTS.keys())
def test_a_bad_product_is_400_and_writes_nothing(merchant_api, change, code, attr):
    before = row_counts()

    response = merchant_api.post(PRODUCTS, product_body(**change), format="json")

    assert_error(response, 400, code, attr)
    assert row_counts() == before


def test_create_without_credentials_is_401(api, merchant):
    assert api.post(PRODUCTS, product_body(), format="json").status_code == 401
    assert not Product.objects.exists()


def test_a_shopper_token_cannot_create_products(shopper_api):
    assert_error(shopper_api.post(PRODUCTS, product_body(), format="json"), 401, "wrong_credential_kind")
    assert not Product.objects.exists()


# --- Update -------------------------------------------------------------------------


@pytest.fixture
def product(merchant):
    return ProductFactory(
        merchant=merchant,
        sku="LIP-01",
        title="Velvet",
        price=Decimal("89.00"),
        category=CategoryFactory(slug="makeup"),
    )


def test_patch_changes_only_the_fields_given(merchant_api, product):
    response = merchant_api.patch(product_url(), {"price": "79.50"}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["price"], response.json()["title"], response.json()["category"]) == (
        "79.50",
        "Velvet",
        "makeup",
    )
    product.refresh_from_db()
    assert (product.price, product.title, product.published_at) == (Decimal("79.50"), "Velvet", None)


def test_patch_published_true_sets_published_at_once(merchant_api, product):
    first = merchant_api.patch(product_url(), {"published": True}, format="json").json()
    again = merchant_api.patch(product_url(), {"published": True}, format="json").json()

    assert first["published"] is True
    assert first["published_at"] is not None
    assert again["published_at"] == first["published_at"]


def test_patch_published_false_unpublishes(merchant_api, product):
    merchant_api.patch(product_url(), {"published": True}, format="json")

    response = merchant_api.patch(product_url(), {"published": False}, format="json")

    assert (response.json()["published"], response.json()["published_at"]) == (False, None)


def test_patch_to_a_new_category_creates_it(merchant_api, product):
    merchant_api.patch(product_url(), {"category": "skincare", "tags": ["Serum"]}, format="json")

    product.refresh_from_db()
    assert (product.category.slug, product.tags) == ("skincare", ["serum"])


def test_patch_of_another_merchants_sku_is_404_and_changes_nothing(product, other_merchant):
    other_api = merchant_client(other_merchant)
    before = row_counts()

    response = other_api.patch(product_url(), {"title": "Hijacked"}, format="json")

    assert_error(response, 404, "product_not_found")
    assert row_counts() == before
    product.refresh_from_db()
    assert product.title == "Velvet"


def test_patch_of_an_unknown_sku_is_404(merchant_api, product):
    assert_error(
        merchant_api.patch(product_url("NOPE"), {"title": "x"}, format="json"), 404, "product_not_found"
    )


@pytest.mark.parametrize(
    ("change", "code", "attr"),
    [({"price": "-1"}, "min_value", "price"), ({"price": "1.001"}, "max_decimal_places", "price")],
)
def test_a_bad_patch_is_400_and_changes_nothing(merchant_api, product, change, code, attr):
    response = merchant_api.patch(product_url(), {"title": "New", **change}, format="json")

    assert_error(response, 400, code, attr)
    product.refresh_from_db()
    assert (product.title, product.price) == ("Velvet", Decimal("89.00"))


def test_patch_without_credentials_is_401(api, product):
    assert api.patch(product_url(), {"title": "x"}, format="json").status_code == 401

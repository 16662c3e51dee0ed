"""GET /api/v1/merchant/coupon-templates/{id}: one template read back."""

import pytest

from tests.conftest import assert_error
from tests.coupons.factories import CouponTemplateFactory
from tests.storefront.factories import ProductFactory

TEMPLATES = "/api/v1/merchant/coupon-templates"


def test_a_template_reads_back_with_its_terms_and_products(merchant_api, merchant):
    template = CouponTemplateFactory(merchant=merchant, name="Lipsticks", scope="products")
    template.products.set(
        [ProductFactory(merchant=merchant, sku="LIP-2"), ProductFactory(merchant=merchant, sku="LIP-1")]
    )

    response = merchant_api.get(f"{TEMPLATES}/{template.pk}")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["name"], body["scope"], body["products"]) == (
        template.pk,
        "Lipsticks",
        "products",
        ["LIP-1", "LIP-2"],
    )


@pytest.mark.parametrize("template_id", ["999999", "abc", "99999999999999999999999"])
def test_an_unknown_template_id_is_404(merchant_api, merchant, template_id):
    assert_error(merchant_api.get(f"{TEMPLATES}/{template_id}"), 404, "coupon_template_not_found")


def test_another_merchants_template_is_404(merchant_api, other_merchant):
    theirs = CouponTemplateFactory(merchant=other_merchant)

    assert_error(merchant_api.get(f"{TEMPLATES}/{theirs.pk}"), 404, "coupon_template_not_found")


def test_reading_a_template_costs_three_queries(merchant_api, merchant, django_assert_max_num_queries):
    template = CouponTemplateFactory(merchant=merchant, scope="products")
    template.products.set([ProductFactory(merchant=merchant) for _ in range(5)])

    with django_assert_max_num_queries(3):  # the API key, the template, its products
        assert merchant_api.get(f"{TEMPLATES}/{template.pk}").status_code == 200

"""POST and GET /api/v1/merchant/coupon-templates: the merchant's coupon terms."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coupons.errors import TemplateTermsInvalid
from coupons.models import CouponTemplate
from coupons.services.templates import coupon_template_create
from tests.conftest import assert_error, row_counts
from tests.coupons.factories import CouponTemplateFactory
from tests.storefront.factories import CategoryFactory, ProductFactory

TEMPLATES = "/api/v1/merchant/coupon-templates"


def in_a_week() -> str:
    return (timezone.now() + timedelta(days=7)).isoformat()


def test_a_fixed_template_for_everything(merchant_api, merchant):
    body = {"name": "5 off", "kind": "fixed", "value": "5.00", "valid_days": 30, "stock": 100}

    response = merchant_api.post(TEMPLATES, body, format="json")

    assert response.status_code == 201, response.content
    answer = response.json()
    template = CouponTemplate.objects.get(pk=answer["id"])
    assert template.merchant == merchant
    assert {k: answer[k] for k in body} == {**body, "value": "5.00"}
    assert answer | {"id": 0} == {
        "id": 0,
        "name": "5 off",
        "kind": "fixed",
        "value": "5.00",
        "min_spend": "0.00",
        "max_discount": None,
        "scope": "all",
        "category": None,
        "products": [],
        "valid_days": 30,
        "valid_from": None,
        "valid_until": None,
        "per_member_limit": 1,
        "stock": 100,
        "issued_count": 0,
        "points_price": None,
        "stackable": False,
        "active": True,
    }


def test_a_capped_percent_template_for_a_category(merchant_api, merchant):
    CategoryFactory(merchant=merchant, slug="shoes")
    body = {
        "name": "20% off shoes",
        "kind": "percent",
        "value": "20",
        "max_discount": "15.00",
        "min_spend": "50.00",
        "scope": "category",
        "category": "shoes",
        "valid_days": 14,
        "per_member_limit": 3,
        "points_price": 200,
        "stackable": True,
    }

    response = merchant_api.post(TEMPLATES, body, format="json")

    assert response.status_code == 201, response.content
    template = CouponTemplate.objects.get(pk=response.json()["id"])
    assert (template.kind, template.value, template.max_discount, template.min_spend) == (
        "percent",
        20,
        15,
        50,
    )
    assert (template.scope, template.category.slug, template.per_member_limit) == ("category", "shoes", 3)
    assert (template.points_price, template.stackable) == (200, True)
    assert response.json()["category"] == "shoes"


def test_a_products_template_with_a_window(merchant_api, merchant):
    ProductFactory(merchant=merchant, sku="A")
    ProductFactory(merchant=merchant, sku="B")
    starts, ends = timezone.now() + timedelta(days=1), timezone.now() + timedelta(days=8)
    body = {
        "name": "A and B",
        "kind": "fixed",
        "value": "3.00",
        "scope": "products",
        "products": ["B", "A", "B"],
        "valid_from": starts.isoformat(),
        "valid_until": ends.isoformat(),
    }

    response = merchant_api.post(TEMPLATES, body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["products"] == ["A", "B"]
    template = CouponTemplate.objects.get(pk=response.json()["id"])
    assert sorted(template.products.values_list("sku", flat=True)) == ["A", "B"]
    assert (template.valid_days, template.valid_from, template.valid_until) == (None, starts, ends)


BASE = {"name": "t", "kind": "fixed", "value": "5.00", "valid_days": 30}


@pytest.mark.parametrize(
    ("change", "code", "attr"),
    [
        ({"kind": "percent", "value": "100.01"}, "percent_over_100", "value"),
        ({"max_discount": "3.00"}, "cap_needs_percent", "max_discount"),
        ({"value": "0"}, "min_value", "value"),
        ({"kind": "bogus"}, "invalid_choice", "kind"),
        ({"scope": "category"}, "scope_needs_category", "category"),
        ({"scope": "products"}, "scope_needs_products", "products"),
        ({"scope": "products", "products": []}, "empty", "products"),
        ({"scope": "products", "products": ["NOT-OURS"]}, "unknown_sku", "products"),
        ({"valid_days": None}, "validity_ambiguous", "valid_days"),
        ({"valid_until": "2099-01-01T00:00:00Z"}, "validity_ambiguous", "valid_days"),
        ({"valid_days": 0}, "min_value", "valid_days"),
        ({"valid_from": "2099-01-01T00:00:00Z"}, "valid_from_without_until", "valid_from"),
        (
            {"valid_days": None, "valid_from": "2099-01-02T00:00:00Z", "valid_until": "2099-01-01T00:00:00Z"},
            "window_reversed",
            "valid_until",
        ),
        ({"valid_days": None, "valid_until": "2000-01-01T00:00:00Z"}, "window_in_past", "valid_until"),
        ({"per_member_limit": 0}, "min_value", "per_member_limit"),
        ({"stock": -1}, "min_value", "stock"),
        ({"points_price": 0}, "min_value", "points_price"),
        ({"name": ""}, "blank", "name"),
    ],
)
def test_bad_template_is_a_400_and_writes_nothing(merchant_api, other_merchant, change, code, attr):
    ProductFactory(merchant=other_merchant, sku="NOT-OURS")
    before = row_counts()

    response = merchant_api.post(TEMPLATES, {**BASE, **change}, format="json")

    assert_error(response, 400, code, attr)
    assert row_counts() == before


def test_creating_a_template_needs_the_merchants_key(api, shopper_api, db):
    before = row_counts()

    assert_error(api.post(TEMPLATES, BASE, format="json"), 401, "not_authenticated")
    assert_error(shopper_api.post(TEMPLATES, BASE, format="json"), 401, "wrong_credential_kind")
    assert row_counts() == before


def test_the_list_shows_the_merchants_own_templates_only(merchant_api, merchant, other_merchant):
    mine = CouponTemplateFactory(merchant=merchant)
    CouponTemplateFactory(merchant=other_merchant)

    response = merchant_api.get(TEMPLATES)

    assert response.status_code == 200
    assert [t["id"] for t in response.json()["results"]] == [mine.pk]


def test_the_list_costs_the_same_queries_for_2_and_20_templates(merchant_api, merchant):
    products = [ProductFactory(merchant=merchant) for _ in range(2)]

    def make(n):
        for _ in range(n):
            CouponTemplateFactory(merchant=merchant, scope="products").products.set(products)
        with CaptureQueriesContext(connection) as queries:
            response = merchant_api.get(f"{TEMPLATES}?page_size=100")
        assert response.status_code == 200
        assert all(len(t["products"]) == 2 for t in response.json()["results"])
        return len(queries)

    assert make(2) == make(18)


@pytest.mark.parametrize("whose", ["nobody's", "another merchant's"])
def test_a_template_for_a_category_the_merchant_does_not_have_is_400_and_writes_nothing(
    merchant_api, other_merchant, whose
):
    # given: "shoes" exists only at another merchant, or nowhere
    if whose == "another merchant's":
        CategoryFactory(merchant=other_merchant, slug="shoes")
    before = row_counts()
    body = {
        "name": "Shoes",
        "kind": "fixed",
        "value": "5.00",
        "scope": "category",
        "category": "shoes",
        "valid_days": 7,
    }

    response = merchant_api.post(TEMPLATES, body, format="json")

    # then: refused on the field, and no category was made for anyone
    assert_error(response, 400, "unknown_category", "category")
    assert row_counts() == before


def test_the_service_checks_the_terms_itself_for_callers_other_than_the_api(merchant):
    before = row_counts()

    with pytest.raises(TemplateTermsInvalid) as refused:
        coupon_template_create(
            merchant=merchant, name="Too much", kind="percent", value=Decimal("101"), valid_days=7
        )

    assert (refused.value.code, refused.value.attr) == ("percent_over_100", "value")
    assert row_counts() == before

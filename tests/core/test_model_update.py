from datetime import timedelta
from decimal import Decimal

import pytest

from core.services import model_update
from storefront.models import Product
from tests.storefront.factories import CategoryFactory, ProductFactory

FIELDS = ("title", "price", "category", "tags")


@pytest.fixture
def product(db):
    return ProductFactory(title="Old", price=Decimal("10.00"))


def test_changed_fields_are_saved_and_reported(product, django_assert_num_queries):
    with django_assert_num_queries(1):
        changed = model_update(
            instance=product, fields=FIELDS, data={"title": "New", "price": Decimal("12.50")}
        )

    assert changed is True
    stored = Product.objects.get(pk=product.pk)
    assert (stored.title, stored.price) == ("New", Decimal("12.50"))


def test_equal_values_write_nothing(product, django_assert_num_queries):
    with django_assert_num_queries(0):
        changed = model_update(instance=product, fields=FIELDS, data={"title": "Old", "price": Decimal("10")})

    assert changed is False


def test_only_changed_fields_are_written_so_a_concurrent_change_of_another_field_survives(product):
    Product.objects.filter(pk=product.pk).update(price=Decimal("99.00"))  # another writer, meanwhile

    model_update(instance=product, fields=FIELDS, data={"title": "New", "price": Decimal("10.00")})

    stored = Product.objects.get(pk=product.pk)
    assert (stored.title, stored.price) == ("New", Decimal("99.00"))


def test_auto_now_field_moves_with_a_change(product):
    Product.objects.filter(pk=product.pk).update(updated_at=product.updated_at - timedelta(days=1))
    product.refresh_from_db()
    before = product.updated_at

    model_update(instance=product, fields=FIELDS, data={"title": "New"})

    assert Product.objects.get(pk=product.pk).updated_at > before


def test_foreign_key_is_compared_by_id_without_fetching_the_row(product, django_assert_num_queries):
    category = CategoryFactory()
    product = Product.objects.get(pk=product.pk)

    with django_assert_num_queries(1):
        assert model_update(instance=product, fields=FIELDS, data={"category": category}) is True
    with django_assert_num_queries(0):
        assert model_update(instance=product, fields=FIELDS, data={"category": category.pk}) is False
    assert Product.objects.get(pk=product.pk).category_id == category.pk


def test_field_outside_the_allowed_ones_is_a_programming_error(product, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(TypeError, match="merchant"):
        model_update(instance=product, fields=FIELDS, data={"title": "New", "merchant": None})

    assert Product.objects.get(pk=product.pk).title == "Old"

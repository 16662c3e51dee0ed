"""``core.sql.instance_of``: a written-out statement's row as the instance the ORM loads."""

from decimal import Decimal

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.locks import locking_clause
from core.sql import instance_of, model_columns
from coupons.locks import coupons_lock_by_code
from coupons.models import Coupon
from coupons.selectors import coupons_by_code
from storefront.models import Product
from storefront.selectors import products_by_sku
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.storefront.factories import ProductFactory


def field_values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_a_row_read_by_model_columns_is_the_instance_the_orm_loads(db):
    made = ProductFactory(price=Decimal("12.30"), tags=["lipstick", "red"])
    table = connection.ops.quote_name(Product._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 7, {model_columns(Product, table)} FROM {table} WHERE id = %s", [made.pk])
        row = cursor.fetchone()

    read = instance_of(Product, row, start=1)

    assert field_values(read) == field_values(Product.objects.get(pk=made.pk))
    assert isinstance(read.price, Decimal) and read.tags == ["lipstick", "red"]
    assert read._state.adding is False and read._state.db == "default"


def test_an_orders_products_are_read_in_one_statement_as_the_orm_would(db):
    first, second = ProductFactory(), ProductFactory()
    second.merchant = first.merchant
    second.save(update_fields=["merchant"])

    with CaptureQueriesContext(connection) as queries:
        found = products_by_sku(merchant=first.merchant, skus=[second.sku, first.sku])

    assert len(queries) == 1
    assert {sku: field_values(p) for sku, p in found.items()} == {
        p.sku: field_values(p) for p in Product.objects.filter(pk__in=[first.pk, second.pk])
    }


def test_coupons_by_code_carry_their_template_and_its_product_list_from_one_statement(db):
    template = CouponTemplateFactory(scope="products")
    listed = [ProductFactory(merchant=template.merchant) for _ in range(2)]
    template.products.set(listed)
    coupon = CouponFactory(template=template, merchant=template.merchant)
    other_merchants = CouponFactory()

    with CaptureQueriesContext(connection) as queries:
        found = coupons_by_code(merchant=coupon.merchant, codes=[coupon.code, other_merchants.code, "NOPE"])
        read = found[coupon.code]
        read_template = read.template

    assert len(queries) == 1
    assert list(found) == [coupon.code]
    assert field_values(read) == field_values(Coupon.objects.get(pk=coupon.pk))
    assert field_values(read_template) == field_values(template)
    assert sorted(int(i) for i in read.listed_product_ids.split(",")) == sorted(p.pk for p in listed)


def test_a_written_out_lock_ends_as_the_querysets_lock_does(db):
    clause = locking_clause(Coupon)
    assert clause.startswith(' ORDER BY "coupons_coupon"."id" ASC')
    if connection.features.has_select_for_update:
        assert clause.endswith(' FOR UPDATE OF "coupons_coupon"')
    coupon = CouponFactory()
    with transaction.atomic():
        assert list(coupons_lock_by_code(merchant=coupon.merchant, codes=[coupon.code])) == [coupon.code]


def test_an_instance_inserted_by_fixed_sql_is_stored_as_save_stores_it(db):
    # given: the same values saved the ORM's way and by instance_insert (defaults and JSON included)
    from core.models import OutboxMessage
    from core.sql import instance_insert

    by_orm = OutboxMessage(task="loyalty.send", kwargs={"ids": [1, 2], "note": "é"})
    by_orm.save(force_insert=True)
    fixed = OutboxMessage(
        task="loyalty.send", kwargs={"ids": [1, 2], "note": "é"}, created_at=by_orm.created_at
    )
    fixed.available_at = by_orm.available_at

    # when
    with CaptureQueriesContext(connection) as statements:
        returned = instance_insert(fixed)

    # then: one statement, the key set, saved state, and the stored row the same
    assert returned is fixed
    assert len(statements) == 1
    assert fixed.pk is not None and fixed.pk != by_orm.pk
    assert (fixed._state.adding, fixed._state.db) == (False, "default")
    stored = {m.pk: field_values(m) for m in OutboxMessage.objects.filter(pk__in=[by_orm.pk, fixed.pk])}
    assert {**stored[fixed.pk], "id": None} == {**stored[by_orm.pk], "id": None}

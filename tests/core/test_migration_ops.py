"""``DropForeignKeyIndex``: only the foreign key's own index goes, and comes back on the way down."""

from django.db import connection

from core.migration_ops import DropForeignKeyIndex

BEFORE = [("coupons", "0007_coupon_source_tier")]
AFTER = [("coupons", "0008_drop_redundant_fk_indexes")]


def indexes_and_keys(table: str) -> tuple[set[str], set[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    indexes = {name for name, c in constraints.items() if c["index"] and not c["primary_key"]}
    foreign_keys = {c["columns"][0] for c in constraints.values() if c["foreign_key"]}
    return indexes, foreign_keys


def test_the_index_goes_the_foreign_key_stays_and_migrating_back_restores_it(migrate_to):
    migrate_to(BEFORE)
    indexes_before, keys_before = indexes_and_keys("coupons_coupon")

    migrate_to(AFTER)
    indexes_after, keys_after = indexes_and_keys("coupons_coupon")

    gone = indexes_before - indexes_after
    assert len(gone) == 4 and all(name.startswith("coupons_coupon_") for name in gone)
    assert indexes_after <= indexes_before  # nothing else changed
    assert "coupon_order" in indexes_after  # the partial index that answers the order's lookups
    assert keys_after == keys_before >= {"merchant_id", "shopper_id", "order_id", "campaign_run_id"}

    migrate_to(BEFORE)

    assert indexes_and_keys("coupons_coupon")[0] == indexes_before


def test_it_describes_itself_and_deconstructs():
    operation = DropForeignKeyIndex(model_name="coupon", name="order")

    assert operation.describe() == "Drop the index of its own of coupon.order"
    assert operation.migration_name_fragment == "drop_coupon_order_index"
    assert operation.deconstruct() == ("DropForeignKeyIndex", [], {"model_name": "coupon", "name": "order"})

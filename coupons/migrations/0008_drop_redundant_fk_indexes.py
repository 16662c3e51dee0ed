"""Foreign keys whose own index a composite index or unique constraint already leads with
(or, for a nullable key, a partial index on it where it is set): each such index was one
more write per row for no read. Only the index goes (``core.migration_ops``)."""

from django.db import migrations

from core.migration_ops import DropForeignKeyIndex


class Migration(migrations.Migration):
    dependencies = [("coupons", "0007_coupon_source_tier")]

    operations = [
        DropForeignKeyIndex(model_name="coupon", name="merchant"),
        DropForeignKeyIndex(model_name="coupon", name="shopper"),
        DropForeignKeyIndex(model_name="coupon", name="campaign_run"),
        DropForeignKeyIndex(model_name="coupon", name="order"),
        DropForeignKeyIndex(model_name="campaignrun", name="campaign"),
        DropForeignKeyIndex(model_name="campaignrunchunk", name="run"),
    ]

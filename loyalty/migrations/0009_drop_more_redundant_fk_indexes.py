"""Foreign keys whose own index a composite index or unique constraint already leads with
(or, for a nullable key, a partial index on it where it is set): each such index was one
more write per row for no read. Only the index goes (``core.migration_ops``)."""

from django.db import migrations

from core.migration_ops import DropForeignKeyIndex


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0008_drop_redundant_fk_indexes")]

    operations = [
        DropForeignKeyIndex(model_name="tierchange", name="membership"),
        DropForeignKeyIndex(model_name="merchantdailymetrics", name="merchant"),
        DropForeignKeyIndex(model_name="merchantdailytier", name="merchant"),
        DropForeignKeyIndex(model_name="merchantdailycoupons", name="merchant"),
    ]

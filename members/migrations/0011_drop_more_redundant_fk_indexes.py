"""Foreign keys whose own index a composite index or unique constraint already leads with
(or, for a nullable key, a partial index on it where it is set): each such index was one
more write per row for no read. Only the index goes (``core.migration_ops``)."""

from django.db import migrations

from core.migration_ops import DropForeignKeyIndex


class Migration(migrations.Migration):
    dependencies = [("members", "0010_drop_redundant_fk_indexes")]

    operations = [
        DropForeignKeyIndex(model_name="follow", name="shopper"),
        DropForeignKeyIndex(model_name="follow", name="account"),
        DropForeignKeyIndex(model_name="tier", name="merchant"),
        DropForeignKeyIndex(model_name="membership", name="shopper"),
        DropForeignKeyIndex(model_name="membership", name="merchant"),
        DropForeignKeyIndex(model_name="shopperclaim", name="shopper"),
        DropForeignKeyIndex(model_name="accountdailystat", name="account"),
        DropForeignKeyIndex(model_name="webhookendpoint", name="merchant"),
        DropForeignKeyIndex(model_name="webhookdelivery", name="endpoint"),
    ]

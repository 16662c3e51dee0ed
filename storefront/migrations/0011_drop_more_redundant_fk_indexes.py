"""Foreign keys whose own index a composite index or unique constraint already leads with
(or, for a nullable key, a partial index on it where it is set): each such index was one
more write per row for no read. Only the index goes (``core.migration_ops``)."""

from django.db import migrations

from core.migration_ops import DropForeignKeyIndex


class Migration(migrations.Migration):
    dependencies = [("storefront", "0010_drop_redundant_fk_indexes")]

    operations = [
        DropForeignKeyIndex(model_name="category", name="merchant"),
        DropForeignKeyIndex(model_name="product", name="merchant"),
        DropForeignKeyIndex(model_name="refund", name="order"),
        DropForeignKeyIndex(model_name="inboxmessage", name="shopper"),
        DropForeignKeyIndex(model_name="inboxmessage", name="rollout"),
    ]

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0003_member_list_indexes"),
        ("storefront", "0005_categories_per_merchant"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="category",
            options={"ordering": ["merchant_id", "slug"], "verbose_name_plural": "categories"},
        ),
        migrations.AlterField(
            model_name="category",
            name="merchant",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="categories", to="members.merchant"
            ),
        ),
        migrations.AddConstraint(
            model_name="category",
            constraint=models.UniqueConstraint(fields=("merchant", "slug"), name="category_unique_merchant_slug"),
        ),
    ]

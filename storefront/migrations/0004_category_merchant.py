import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Categories become each merchant's own: the column first, nullable until 0004 fills it."""

    dependencies = [
        ("members", "0003_member_list_indexes"),
        ("storefront", "0003_points_64_bit"),
    ]

    operations = [
        migrations.AddField(
            model_name="category",
            name="merchant",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="categories",
                to="members.merchant",
            ),
        ),
        migrations.AlterField(
            model_name="category",
            name="slug",
            field=models.SlugField(
                validators=[
                    django.core.validators.RegexValidator(
                        "^[a-z0-9][a-z0-9-]{1,49}\\Z",
                        "Slugs are 2-50 characters: lowercase letters, digits or '-'.",
                        code="invalid_slug",
                    )
                ]
            ),
        ),
    ]

from django.db import migrations


def split_per_merchant(apps, schema_editor):
    """Give every merchant that uses a shared category its own row with the same slug and name.

    The first merchant (by id) that uses a category keeps the row; each other one gets a
    copy, and its products and coupon templates move to the copy. A category nobody uses
    is deleted: it belongs to no merchant. Coupon templates are repointed here too (their
    table is the coupons app's), so that no row points at another merchant's category.
    """
    Category = apps.get_model("storefront", "Category")
    Product = apps.get_model("storefront", "Product")
    CouponTemplate = apps.get_model("coupons", "CouponTemplate")
    for category in Category.objects.filter(merchant__isnull=True).order_by("pk"):
        merchant_ids = sorted(
            set(Product.objects.filter(category=category).values_list("merchant_id", flat=True))
            | set(CouponTemplate.objects.filter(category=category).values_list("merchant_id", flat=True))
        )
        if not merchant_ids:
            category.delete()
            continue
        first, *others = merchant_ids
        category.merchant_id = first
        category.save(update_fields=["merchant"])
        for merchant_id in others:
            copy = Category.objects.create(merchant_id=merchant_id, slug=category.slug, name=category.name)
            Product.objects.filter(category=category, merchant_id=merchant_id).update(category=copy)
            CouponTemplate.objects.filter(category=category, merchant_id=merchant_id).update(category=copy)


def merge_back(apps, schema_editor):
    """Reverse: one shared row per slug again (the lowest id), the copies folded into it."""
    Category = apps.get_model("storefront", "Category")
    Product = apps.get_model("storefront", "Product")
    CouponTemplate = apps.get_model("coupons", "CouponTemplate")
    keep = {}
    for category in Category.objects.order_by("pk"):
        kept = keep.setdefault(category.slug, category)
        if kept.pk != category.pk:
            Product.objects.filter(category=category).update(category=kept)
            CouponTemplate.objects.filter(category=category).update(category=kept)
            category.delete()
    Category.objects.update(merchant=None)


class Migration(migrations.Migration):
    dependencies = [
        ("coupons", "0002_initial"),
        ("storefront", "0004_category_merchant"),
    ]

    operations = [migrations.RunPython(split_per_merchant, merge_back)]

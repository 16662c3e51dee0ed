"""storefront 0005: yesterday's shared categories become each merchant's own."""

# members 0005: later members migrations add NOT NULL columns the old rows below do not set.
BEFORE = [
    ("storefront", "0004_category_merchant"),
    ("coupons", "0002_initial"),
    ("members", "0005_engagement"),
]
AFTER = [("storefront", "0006_category_merchant_required")]


def test_each_merchant_that_used_a_shared_category_gets_its_own(migrate_to):
    # given: before the change, "tea" shared by two merchants' products and a template,
    # and "unused" used by nobody
    old = migrate_to(BEFORE)
    Merchant = old.get_model("members", "Merchant")
    Category = old.get_model("storefront", "Category")
    Product = old.get_model("storefront", "Product")
    Template = old.get_model("coupons", "CouponTemplate")
    first, second, third = (Merchant.objects.create(slug=s, name=s.title()) for s in ("aa", "bb", "cc"))
    tea = Category.objects.create(slug="tea", name="Fine Tea")
    Category.objects.create(slug="unused", name="Unused")
    Product.objects.create(merchant=first, sku="T1", title="Tea 1", category=tea, price=1, tags=[])
    Product.objects.create(merchant=second, sku="T2", title="Tea 2", category=tea, price=1, tags=[])
    Template.objects.create(
        merchant=third, name="Tea off", kind="fixed", value=1, scope="category", category=tea, valid_days=5
    )

    # when: migrating
    new = migrate_to(AFTER)

    # then: one "tea" per merchant that used it, named as before; nothing points across
    Category = new.get_model("storefront", "Category")
    Product = new.get_model("storefront", "Product")
    Template = new.get_model("coupons", "CouponTemplate")
    assert sorted(Category.objects.values_list("merchant__slug", "slug", "name")) == [
        ("aa", "tea", "Fine Tea"),
        ("bb", "tea", "Fine Tea"),
        ("cc", "tea", "Fine Tea"),
    ]
    for product in Product.objects.select_related("category"):
        assert product.category.merchant_id == product.merchant_id
    template = Template.objects.select_related("category").get()
    assert template.category.merchant_id == template.merchant_id

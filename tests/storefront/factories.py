from decimal import Decimal

import factory
from django.utils import timezone

from storefront.models import (
    Category,
    Order,
    OrderLine,
    Preference,
    Product,
    PurchaseStat,
    PushRollout,
    Refund,
    RolloutPolicy,
)
from tests.members.factories import MerchantFactory, ShopperFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["merchant", "slug"]

    merchant = factory.SubFactory(MerchantFactory)
    slug = factory.Sequence(lambda n: f"category-{n}")
    name = factory.Sequence(lambda n: f"Category {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    merchant = factory.SubFactory(MerchantFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    title = factory.Sequence(lambda n: f"Product {n}")
    category = factory.SubFactory(CategoryFactory, merchant=factory.SelfAttribute("..merchant"))
    price = Decimal("10.00")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    merchant = factory.SubFactory(MerchantFactory)
    shopper = factory.SubFactory(ShopperFactory)
    external_id = factory.Sequence(lambda n: f"order-{n}")
    subtotal = Decimal("10.00")
    discount = Decimal("0.00")
    total = Decimal("10.00")
    paid_at = factory.LazyFunction(timezone.now)
    payload_hash = "0" * 64
    response = factory.LazyFunction(dict)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory, merchant=factory.SelfAttribute("..order.merchant"))
    quantity = 1
    unit_price = Decimal("10.00")


class RefundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Refund

    order = factory.SubFactory(OrderFactory)
    external_id = factory.Sequence(lambda n: f"refund-{n}")
    amount = Decimal("0.00")
    lines = factory.LazyFunction(list)
    payload_hash = "0" * 64
    response = factory.LazyFunction(dict)


class PurchaseStatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseStat

    shopper = factory.SubFactory(ShopperFactory)
    product = factory.SubFactory(ProductFactory)
    merchant = factory.SelfAttribute("product.merchant")
    times_purchased = 1
    quantity = 1
    first_purchased_at = factory.LazyFunction(timezone.now)
    last_purchased_at = factory.LazyFunction(timezone.now)


class PreferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Preference

    shopper = factory.SubFactory(ShopperFactory)
    kind = Preference.Kind.CATEGORY
    slug = factory.Sequence(lambda n: f"interest-{n}")
    weight = 1.0
    updated_at = factory.LazyFunction(timezone.now)


class PushRolloutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PushRollout

    merchant = factory.SubFactory(MerchantFactory)
    product = factory.SubFactory(
        ProductFactory,
        merchant=factory.SelfAttribute("..merchant"),
        published_at=factory.LazyFunction(timezone.now),
    )
    stage_started_at = factory.LazyFunction(timezone.now)


class RolloutPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RolloutPolicy

    merchant = factory.SubFactory(MerchantFactory)

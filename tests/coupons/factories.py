from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from coupons.models import Campaign, CampaignRun, Coupon, CouponTemplate, ScheduledCoupon
from coupons.services.issuing import coupon_code_new
from tests.members.factories import MerchantFactory, ShopperFactory


class CouponTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CouponTemplate

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Coupon template {n}")
    kind = CouponTemplate.Kind.FIXED
    value = Decimal("5.00")
    valid_days = 30


class CouponFactory(factory.django.DjangoModelFactory):
    """An issued coupon written directly (no stock claim): for reads and admin tests."""

    class Meta:
        model = Coupon

    template = factory.SubFactory(CouponTemplateFactory)
    merchant = factory.SelfAttribute("template.merchant")
    shopper = factory.SubFactory(ShopperFactory)
    code = factory.LazyFunction(coupon_code_new)
    source = Coupon.Source.MANUAL
    issued_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))


class ScheduledCouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScheduledCoupon

    template = factory.SubFactory(CouponTemplateFactory)
    merchant = factory.SelfAttribute("template.merchant")
    shopper = factory.SubFactory(ShopperFactory)
    source = Coupon.Source.REPURCHASE
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    template = factory.SubFactory(CouponTemplateFactory, merchant=factory.SelfAttribute("..merchant"))
    audience = factory.LazyFunction(lambda: {"members": True})


class CampaignRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignRun

    campaign = factory.SubFactory(CampaignFactory)
    merchant = factory.SelfAttribute("campaign.merchant")

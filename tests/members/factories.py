from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from members.engagement.models import AccountDailyStat, EngagementEvent, EngagementKind, FanPolicy
from members.fan_counts import fan_counts_move
from members.iron_fan_flags import iron_fan_flags_sync, is_iron_fan
from members.models import Account, Follow, Membership, Merchant, MerchantAPIKey, MerchantStaff, Shopper, Tier
from members.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

USER_PASSWORD = "pw-for-tests-1"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(USER_PASSWORD)


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    slug = factory.Sequence(lambda n: f"merchant-{n}")
    name = factory.Sequence(lambda n: f"Merchant {n}")


class MerchantStaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MerchantStaff

    user = factory.SubFactory(UserFactory, is_staff=True)
    merchant = factory.SubFactory(MerchantFactory)


class MerchantAPIKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MerchantAPIKey

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"key {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        api_key, key = model_class.objects.create_key(**kwargs)
        api_key.plain_key = key
        return api_key


class ShopperFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shopper

    external_id = factory.Sequence(lambda n: f"platform-user-{n}")
    display_name = factory.Sequence(lambda n: f"Shopper {n}")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    merchant = factory.SubFactory(MerchantFactory)
    handle = factory.Sequence(lambda n: f"koe-{n}")
    kind = Account.Kind.KOE
    display_name = factory.Sequence(lambda n: f"Employee {n}")


class FollowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Follow
        skip_postgeneration_save = True

    shopper = factory.SubFactory(ShopperFactory)
    account = factory.SubFactory(AccountFactory)

    @factory.post_generation
    def membership_flag(follow, create, extracted, **kwargs):
        """An iron fan made here is one as the recompute job leaves it: with the
        membership's iron-fan flag set (members.iron_fan_flags)."""
        if create and follow.iron_fan:
            iron_fan_flags_sync(merchant_id=follow.account.merchant_id, shopper_ids=[follow.shopper_id])

    @factory.post_generation
    def counted(follow, create, extracted, **kwargs):
        """A follow made here is counted as follow_create and the recompute count it
        (members.fan_counts)."""
        if create:
            fan_counts_move({follow.account_id: (1, 1 if follow.iron_fan else 0)})


class TierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tier

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Tier {n}")
    rank = factory.Sequence(lambda n: n + 1)
    min_spend_12m = Decimal("0")
    earn_multiplier = Decimal("1")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    shopper = factory.SubFactory(ShopperFactory)
    merchant = factory.SubFactory(MerchantFactory)
    number = factory.Sequence(lambda n: n + 1)
    joined_at = factory.LazyFunction(timezone.now)
    # As a join sets it: an iron fan of the merchant's accounts joins as one.
    iron_fan = factory.LazyAttribute(
        lambda m: is_iron_fan(merchant_id=m.merchant.pk, shopper_id=m.shopper.pk)
    )


def shopper_of_merchant(merchant) -> Shopper:
    """A shopper in a merchant's scope: staff see the shoppers who follow or joined them."""
    return FollowFactory(account__merchant=merchant).shopper


MERCHANT_OBJECT_BUILDERS = {Shopper: shopper_of_merchant}


class EngagementEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EngagementEvent

    account = factory.SubFactory(AccountFactory)
    shopper = factory.SubFactory(ShopperFactory)
    kind = EngagementKind.LIKE
    quantity = 1
    occurred_at = factory.LazyFunction(timezone.now)


class FanPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FanPolicy

    merchant = factory.SubFactory(MerchantFactory)


class AccountDailyStatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountDailyStat

    account = factory.SubFactory(AccountFactory)
    date = factory.LazyFunction(lambda: timezone.now().date())
    fans = 4
    iron_fans = 1


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    merchant = factory.SubFactory(MerchantFactory)
    url = factory.Sequence(lambda n: f"https://hooks.example.com/{n}")
    events = factory.LazyFunction(lambda: ["order.recorded"])
    secret = factory.Sequence(lambda n: f"whsec_test_secret_{n:020d}")
    created_at = factory.LazyFunction(timezone.now)


class WebhookEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEvent

    merchant = factory.SubFactory(MerchantFactory)
    type = "order.recorded"
    payload = factory.LazyFunction(lambda: {"external_id": "o-1"})
    created_at = factory.LazyFunction(timezone.now)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event = factory.SubFactory(WebhookEventFactory, merchant=factory.SelfAttribute("..endpoint.merchant"))
    next_attempt_at = factory.LazyFunction(timezone.now)
    first_attempt_due_at = factory.LazyFunction(timezone.now)

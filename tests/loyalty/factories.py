import factory
from django.db.models import F
from django.utils import timezone

from loyalty.models import PointsAccount, PointsEntry, Program, TierChange, TierReward
from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MembershipFactory, MerchantFactory, TierFactory


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program
        django_get_or_create = ["merchant"]

    merchant = factory.SubFactory(MerchantFactory)


class PointsAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PointsAccount

    membership = factory.SubFactory(MembershipFactory)


class PointsEntryFactory(factory.django.DjangoModelFactory):
    """A lot with its balance: keeps ``balance == sum(delta)`` for tests that need entries."""

    class Meta:
        model = PointsEntry
        skip_postgeneration_save = True  # the hook moves the balance, not the entry

    account = factory.SubFactory(PointsAccountFactory)
    delta = 10
    remaining = 10
    kind = PointsEntry.Kind.ADJUST
    reason = "test lot"
    created_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def keep_balance(entry, create, extracted, **kwargs):
        if create:
            PointsAccount.objects.filter(pk=entry.account_id).update(balance=F("balance") + entry.delta)


class TierChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TierChange

    membership = factory.SubFactory(MembershipFactory)
    to_tier = factory.SubFactory(TierFactory, merchant=factory.SelfAttribute("..membership.merchant"))
    reason = TierChange.Reason.MANUAL
    at = factory.LazyFunction(timezone.now)


class TierRewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TierReward

    tier = factory.SubFactory(TierFactory)
    template = factory.SubFactory(CouponTemplateFactory, merchant=factory.SelfAttribute("..tier.merchant"))

"""Campaign audiences: each key against hand-built data, keys ANDed, one query, bad keys named."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coupons import errors
from coupons.audiences import audience_compile, audience_size
from members.models import Membership
from tests.members.factories import (
    AccountFactory,
    FollowFactory,
    MembershipFactory,
    ShopperFactory,
    TierFactory,
)
from tests.storefront.factories import CategoryFactory, OrderFactory, ProductFactory, PurchaseStatFactory

pytestmark = pytest.mark.django_db


def selected(merchant, audience) -> set:
    """The audience's shoppers; the dry run, which counts from one key's rows, counts as many."""
    shoppers = set(audience_compile(merchant=merchant, audience=audience).values_list("pk", flat=True))
    assert audience_size(merchant=merchant, audience=audience) == len(shoppers)
    return shoppers


def test_members_selects_active_members_and_false_the_others(merchant, other_merchant):
    member = MembershipFactory(merchant=merchant).shopper
    MembershipFactory(merchant=merchant, status=Membership.Status.LEFT)
    MembershipFactory(merchant=other_merchant)
    account = AccountFactory(merchant=merchant)
    fan = FollowFactory(account=account).shopper
    FollowFactory(account=account, shopper=member)

    assert selected(merchant, {"members": True}) == {member.pk}
    assert selected(merchant, {"members": False, "followers_of": account.handle}) == {fan.pk}


def test_iron_fans_are_iron_fans_of_any_account_of_the_merchant(merchant, other_merchant):
    brand, koe = AccountFactory(merchant=merchant), AccountFactory(merchant=merchant)
    iron = FollowFactory(account=koe, iron_fan=True).shopper
    plain = FollowFactory(account=brand).shopper
    FollowFactory(account=AccountFactory(merchant=other_merchant), iron_fan=True)

    assert selected(merchant, {"iron_fans": True}) == {iron.pk}
    assert selected(merchant, {"iron_fans": False, "followers_of": brand.handle}) == {plain.pk}


def test_tier_at_least_selects_that_tier_and_higher(merchant):
    silver = TierFactory(merchant=merchant, name="Silver", rank=2)
    gold = TierFactory(merchant=merchant, name="Gold", rank=3)
    fan = TierFactory(merchant=merchant, name="Fan", rank=1)
    in_silver = MembershipFactory(merchant=merchant, tier=silver).shopper
    in_gold = MembershipFactory(merchant=merchant, tier=gold).shopper
    MembershipFactory(merchant=merchant, tier=fan)
    MembershipFactory(merchant=merchant, tier=gold, status=Membership.Status.LEFT)

    assert selected(merchant, {"tier_at_least": "Silver"}) == {in_silver.pk, in_gold.pk}


def test_bought_category_selects_buyers_of_that_category_from_this_merchant(merchant, other_merchant):
    tea = CategoryFactory(slug="tea")
    bought = PurchaseStatFactory(product=ProductFactory(merchant=merchant, category=tea)).shopper
    PurchaseStatFactory(product=ProductFactory(merchant=merchant, category=CategoryFactory(slug="cups")))
    PurchaseStatFactory(product=ProductFactory(merchant=other_merchant, category=tea))

    assert selected(merchant, {"bought_category": "tea"}) == {bought.pk}


def test_lapsed_days_selects_buyers_whose_last_order_is_older(merchant):
    now = timezone.now()
    lapsed = ShopperFactory()
    OrderFactory(merchant=merchant, shopper=lapsed, paid_at=now - timedelta(days=40))
    recent = ShopperFactory()
    OrderFactory(merchant=merchant, shopper=recent, paid_at=now - timedelta(days=40))
    OrderFactory(merchant=merchant, shopper=recent, paid_at=now - timedelta(days=2))
    MembershipFactory(merchant=merchant)  # never bought: not lapsed

    assert selected(merchant, {"lapsed_days": 30}) == {lapsed.pk}


def test_joined_within_days_selects_recent_active_members(merchant):
    now = timezone.now()
    new = MembershipFactory(merchant=merchant, joined_at=now - timedelta(days=3)).shopper
    MembershipFactory(merchant=merchant, joined_at=now - timedelta(days=30))

    assert selected(merchant, {"joined_within_days": 7}) == {new.pk}


def test_followers_of_reaches_followers_who_never_joined(merchant):
    account = AccountFactory(merchant=merchant)
    stranger = FollowFactory(account=account).shopper
    FollowFactory(account=AccountFactory(merchant=merchant))

    assert selected(merchant, {"followers_of": account.handle}) == {stranger.pk}


def test_keys_are_anded(merchant):
    account = AccountFactory(merchant=merchant)
    both = MembershipFactory(merchant=merchant).shopper
    FollowFactory(account=account, shopper=both, iron_fan=True)
    FollowFactory(account=account, iron_fan=True)  # not a member
    MembershipFactory(merchant=merchant)  # not an iron fan

    assert selected(merchant, {"members": True, "iron_fans": True, "followers_of": account.handle}) == {
        both.pk
    }


def test_an_audience_is_one_query(merchant, django_assert_num_queries):
    TierFactory(merchant=merchant, name="Gold", rank=1)
    account = AccountFactory(merchant=merchant)
    ProductFactory(merchant=merchant, category=CategoryFactory(slug="tea"))
    audience = {
        "members": True,
        "iron_fans": True,
        "tier_at_least": "Gold",
        "bought_category": "tea",
        "lapsed_days": 30,
        "joined_within_days": 365,
        "followers_of": account.handle,
    }
    shoppers = audience_compile(merchant=merchant, audience=audience)  # looks up tier, category, account

    with django_assert_num_queries(1):
        assert list(shoppers) == []


@pytest.mark.parametrize(
    ("audience", "attr"),
    [
        ({"vip": True}, "audience.vip"),
        ({"members": "yes"}, "audience.members"),
        ({"iron_fans": 1}, "audience.iron_fans"),
        ({"lapsed_days": 0}, "audience.lapsed_days"),
        ({"lapsed_days": True}, "audience.lapsed_days"),
        ({"joined_within_days": 3651}, "audience.joined_within_days"),
        ({"tier_at_least": "Platinum"}, "audience.tier_at_least"),
        ({"bought_category": "nothing-here"}, "audience.bought_category"),
        ({"followers_of": ""}, "audience.followers_of"),
        ({"followers_of": "nobody"}, "audience.followers_of"),
        ({}, "audience"),
        ({"members": False}, "audience"),
        ([], "audience"),
    ],
)
def test_a_bad_audience_names_the_key(merchant, audience, attr):
    with pytest.raises(errors.AudienceInvalid) as raised:
        audience_compile(merchant=merchant, audience=audience)

    assert raised.value.attr == attr


def test_another_merchants_account_tier_and_category_are_unknown(merchant, other_merchant):
    theirs = AccountFactory(merchant=other_merchant)
    TierFactory(merchant=other_merchant, name="Gold")
    ProductFactory(merchant=other_merchant, category=CategoryFactory(slug="tea"))

    for audience in ({"followers_of": theirs.handle}, {"tier_at_least": "Gold"}, {"bought_category": "tea"}):
        with pytest.raises(errors.AudienceInvalid):
            audience_compile(merchant=merchant, audience=audience)


def test_the_dry_run_counts_every_combination_as_the_audience_selects(merchant, other_merchant):
    gold = TierFactory(merchant=merchant, name="Gold", rank=1)
    account = AccountFactory(merchant=merchant)
    old = timezone.now() - timedelta(days=400)
    members = [MembershipFactory(merchant=merchant, tier=gold if i % 2 else None) for i in range(4)]
    Membership.objects.filter(pk=members[0].pk).update(joined_at=old)
    MembershipFactory(merchant=merchant, status=Membership.Status.LEFT, tier=gold)
    MembershipFactory(merchant=other_merchant, shopper=members[1].shopper)
    for membership in members[1:3]:
        FollowFactory(account=account, shopper=membership.shopper, iron_fan=True)
    FollowFactory(account=account)  # a follower who never joined
    FollowFactory(account=AccountFactory(merchant=merchant), shopper=members[1].shopper, iron_fan=True)

    for audience in (
        {"followers_of": account.handle, "members": False},
        {"followers_of": account.handle, "members": True, "tier_at_least": "Gold"},
        {"tier_at_least": "Gold", "iron_fans": True},
        {"joined_within_days": 30, "iron_fans": False},
        {"members": True, "joined_within_days": 30, "followers_of": account.handle},
        {"iron_fans": True},
        {"members": True},
    ):
        selected(merchant, audience)  # asserts the dry run's count


@pytest.mark.parametrize(
    "audience",
    [
        {"members": True, "iron_fans": True},
        {"tier_at_least": "Gold", "iron_fans": False},
        {"joined_within_days": 30, "iron_fans": True},
    ],
)
def test_iron_fans_beside_a_members_only_key_read_the_membership_flag_not_the_follows(merchant, audience):
    # Given an audience whose other key selects active members only
    TierFactory(merchant=merchant, name="Gold", rank=1)

    # When it is compiled, and counted by the dry run
    compiled = str(audience_compile(merchant=merchant, audience=audience).query)
    with CaptureQueriesContext(connection) as counted:
        audience_size(merchant=merchant, audience=audience)

    # Then both read an iron-fan flag, the membership's: never the follows
    for sql in (compiled, counted[-1]["sql"]):
        assert '"iron_fan"' in sql
        assert "members_follow" not in sql


def test_iron_fans_alone_read_the_follows_and_reach_iron_fans_who_never_joined(merchant):
    iron = FollowFactory(account=AccountFactory(merchant=merchant), iron_fan=True).shopper

    compiled = str(audience_compile(merchant=merchant, audience={"iron_fans": True}).query)

    assert "members_follow" in compiled and "members_membership" not in compiled
    assert selected(merchant, {"iron_fans": True}) == {iron.pk}

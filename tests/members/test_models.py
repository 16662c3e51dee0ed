"""Model-level rules of members: validators and the tenant scoping every reader goes through."""

import pytest
from django.core.exceptions import ValidationError

from members.models import HANDLE_VALIDATOR, SLUG_VALIDATOR, Account, Follow, Merchant, Shopper
from tests.members.factories import AccountFactory, FollowFactory, MembershipFactory, MerchantFactory


@pytest.mark.parametrize("validator", [HANDLE_VALIDATOR, SLUG_VALIDATOR], ids=["handle", "slug"])
@pytest.mark.parametrize("value", ["acme\n", "Acme", "a", "-acme", "acme beauty", "a" * 51])
def test_handles_and_slugs_refuse_malformed_values(validator, value):
    with pytest.raises(ValidationError):
        validator(value)


@pytest.mark.parametrize("validator", [HANDLE_VALIDATOR, SLUG_VALIDATOR], ids=["handle", "slug"])
@pytest.mark.parametrize("value", ["ab", "acme-beauty", "a" * 50, "7eleven"])
def test_handles_and_slugs_accept_well_formed_values(validator, value):
    validator(value)


def test_a_handle_may_have_dots_and_underscores_a_slug_may_not():
    HANDLE_VALIDATOR("lin.koe_1")
    with pytest.raises(ValidationError):
        SLUG_VALIDATOR("lin.koe_1")


def test_for_merchant_scopes_each_model_by_its_path(db):
    a, b = MerchantFactory(), MerchantFactory()
    account = AccountFactory(merchant=a)
    follow = FollowFactory(account=account)
    AccountFactory(merchant=b)

    assert list(Merchant.objects.for_merchant(a)) == [a]
    assert list(Account.objects.for_merchant(a)) == [account]
    assert list(Follow.objects.for_merchant(a)) == [follow]
    assert not Follow.objects.for_merchant(b).exists()


def test_a_merchants_shoppers_are_its_fans_and_members(db):
    # given: a fan, a member who left, and a shopper of another merchant only
    a, b = MerchantFactory(), MerchantFactory()
    fan = FollowFactory(account__merchant=a).shopper
    former = MembershipFactory(merchant=a, status="left").shopper
    stranger = MembershipFactory(merchant=b).shopper

    shoppers = set(Shopper.objects.for_merchant(a))

    assert shoppers == {fan, former}
    assert stranger not in shoppers

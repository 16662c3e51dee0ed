"""GET /api/v1/me/wallet: every membership card of the shopper, with points and tier."""

import pytest

from loyalty.services.memberships import membership_enrol
from loyalty.services.points import points_adjust
from members import services as members_services
from tests.conftest import assert_error, shopper_client
from tests.loyalty.conftest import points_account
from tests.loyalty.factories import ProgramFactory
from tests.members.factories import (
    AccountFactory,
    FollowFactory,
    MembershipFactory,
    MerchantFactory,
    TierFactory,
)

WALLET = "/api/v1/me/wallet"

# The token (with user and shopper), the cards (with the points expiring soon and the
# usable coupon count as subqueries).
WALLET_QUERIES = 2


def join(shopper, merchant, *, points: int = 0):
    ProgramFactory(merchant=merchant)
    membership = membership_enrol(shopper=shopper, merchant=merchant).membership
    if points:
        points_adjust(account=points_account(membership), delta=points, reason="welcome")
    return membership


def test_wallet_lists_each_membership_with_balance_and_tier(shopper_api, shopper, merchant):
    TierFactory(merchant=merchant, name="Fan", rank=1, min_spend_12m=0)
    membership = join(shopper, merchant, points=42)

    response = shopper_api.get(WALLET)

    assert response.status_code == 200
    assert response.json() == {
        "memberships": [
            {
                "merchant": {"slug": merchant.slug, "name": merchant.name},
                "number": membership.number,
                "tier": "Fan",
                "points_balance": 42,
                "points_expiring_soon": 0,
                "points_expiring_next_at": None,
                "usable_coupons": 0,
                "iron_fan": False,
            }
        ]
    }


def test_a_member_without_a_tier_shows_none(shopper_api, shopper, merchant):
    join(shopper, merchant)

    card = shopper_api.get(WALLET).json()["memberships"][0]

    assert (card["tier"], card["points_balance"]) == (None, 0)


@pytest.mark.parametrize("iron_fan", [True, False])
def test_iron_fan_comes_from_following_one_of_the_merchants_accounts(
    shopper_api, shopper, merchant, iron_fan
):
    join(shopper, merchant)
    FollowFactory(shopper=shopper, account=AccountFactory(merchant=merchant), iron_fan=iron_fan)

    card = shopper_api.get(WALLET).json()["memberships"][0]

    assert card["iron_fan"] is iron_fan


def test_iron_fan_of_another_merchant_does_not_count(shopper_api, shopper, merchant, other_merchant):
    join(shopper, merchant)
    FollowFactory(shopper=shopper, account=AccountFactory(merchant=other_merchant), iron_fan=True)

    assert shopper_api.get(WALLET).json()["memberships"][0]["iron_fan"] is False


def test_a_membership_left_is_not_in_the_wallet(shopper_api, shopper, merchant, other_merchant):
    join(shopper, merchant)
    join(shopper, other_merchant)
    members_services.membership_leave(shopper=shopper, merchant=merchant)

    slugs = [card["merchant"]["slug"] for card in shopper_api.get(WALLET).json()["memberships"]]

    assert slugs == [other_merchant.slug]


def test_the_wallet_shows_only_the_shoppers_own_cards(shopper_api, shopper, other_shopper, merchant):
    join(other_shopper, merchant, points=99)

    assert shopper_api.get(WALLET).json() == {"memberships": []}
    card = shopper_client(other_shopper).get(WALLET).json()["memberships"][0]
    assert card["points_balance"] == 99


def test_wallet_without_a_token_is_401(api):
    assert api.get(WALLET).status_code == 401


def test_merchant_key_cannot_read_a_wallet(merchant_api):
    assert_error(merchant_api.get(WALLET), 401, "wrong_credential_kind")


@pytest.mark.parametrize("cards", [2, 20])
def test_wallet_query_count_does_not_grow_with_memberships(
    shopper_api, shopper, django_assert_max_num_queries, cards
):
    for _ in range(cards):
        merchant = MerchantFactory()
        TierFactory(merchant=merchant, min_spend_12m=0)
        join(shopper, merchant, points=5)
        FollowFactory(shopper=shopper, account=AccountFactory(merchant=merchant), iron_fan=True)

    with django_assert_max_num_queries(WALLET_QUERIES):
        response = shopper_api.get(WALLET)

    assert len(response.json()["memberships"]) == cards


def test_a_membership_from_before_the_ledger_shows_zero_points(shopper_api, shopper, merchant):
    # given: a membership whose points account was never opened (joined before the ledger)
    MembershipFactory(shopper=shopper, merchant=merchant)

    card = shopper_api.get(WALLET).json()["memberships"][0]

    assert card["points_balance"] == 0

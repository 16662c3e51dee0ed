"""GET /api/v1/merchant/members with the ledger: each member's points balance and tier.

The list itself (filters, paging, tenancy) is tested in test_member_list_api.py.
"""

import pytest

from loyalty.services.memberships import membership_enrol
from loyalty.services.points import points_adjust
from tests.conftest import merchant_client
from tests.loyalty.conftest import ORDERS, order_body, points_account
from tests.members.factories import MembershipFactory, ShopperFactory, TierFactory

MEMBERS = "/api/v1/merchant/members"

# The API key, one page of members with shopper, tier and points account, the page's iron fans.
MEMBERS_QUERIES = 3


def test_members_show_points_balance_lifetime_points_and_tier(merchant_api, merchant, catalog, shopper):
    TierFactory(merchant=merchant, name="Fan", rank=1, min_spend_12m=0)
    membership_enrol(shopper=shopper, merchant=merchant)
    merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")
    points_adjust(account=points_account(shopper.memberships.get()), delta=-4, reason="correction")

    row = merchant_api.get(MEMBERS).json()["results"][0]

    assert (row["shopper"], row["tier"], row["points_balance"], row["lifetime_points"]) == (
        shopper.external_id,
        "Fan",
        20,
        24,
    )


def test_a_negative_balance_is_shown_as_it_is(merchant_api, merchant, member, shopper):
    merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")
    points_adjust(account=points_account(member), delta=-24, reason="spent elsewhere")
    refund = {"external_id": "r-1", "lines": [{"sku": "S1", "quantity": 1}]}
    merchant_api.post(f"{ORDERS}/o-1/refunds", refund, format="json")

    row = merchant_api.get(MEMBERS).json()["results"][0]

    assert row["points_balance"] == -3


def test_another_merchant_sees_neither_the_member_nor_their_points(member, other_merchant):
    points_adjust(account=points_account(member), delta=50, reason="welcome")

    response = merchant_client(other_merchant).get(MEMBERS)

    assert response.json()["results"] == []


def test_members_without_credentials_is_401(api, member):
    assert api.get(MEMBERS).status_code == 401


@pytest.mark.parametrize("members", [2, 20])
def test_member_list_with_points_keeps_its_query_budget(
    merchant_api, merchant, catalog, django_assert_max_num_queries, members
):
    TierFactory(merchant=merchant, rank=1, min_spend_12m=0)
    for _ in range(members):
        membership = membership_enrol(shopper=ShopperFactory(), merchant=merchant).membership
        points_adjust(account=points_account(membership), delta=7, reason="welcome")

    with django_assert_max_num_queries(MEMBERS_QUERIES):
        response = merchant_api.get(MEMBERS)

    assert [(r["points_balance"], r["tier"] is not None) for r in response.json()["results"]] == [
        (7, True)
    ] * members


def test_a_member_from_before_the_ledger_shows_zero_points(merchant_api, merchant):
    # given: a membership whose points account was never opened
    MembershipFactory(merchant=merchant)

    row = merchant_api.get(MEMBERS).json()["results"][0]

    assert (row["points_balance"], row["lifetime_points"]) == (0, 0)

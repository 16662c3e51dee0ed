"""GET /api/v1/merchant/shoppers/{external_id}: the member view for the shop system."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty.services.memberships import membership_enrol
from tests.conftest import assert_error
from tests.coupons.factories import CouponFactory, CouponTemplateFactory
from tests.loyalty.conftest import points_account
from tests.loyalty.factories import PointsEntryFactory
from tests.members.factories import AccountFactory, FollowFactory, ShopperFactory, TierFactory
from tests.storefront.factories import OrderFactory

SHOPPERS = "/api/v1/merchant/shoppers"
# API key, shopper, membership with tier and points, expiring points, coupons, follows, orders.
VIEW_QUERIES = 7


def view(client, external_id):
    return client.get(f"{SHOPPERS}/{external_id}")


def test_the_member_view_shows_membership_points_coupons_fan_status_and_orders(
    merchant_api, merchant, shopper
):
    # given: a Silver member with points (some expiring soon), a usable and a used coupon,
    # an iron fan of one account and a follower of another, with orders
    TierFactory(merchant=merchant, name="Silver", rank=1, min_spend_12m=0)
    membership = membership_enrol(shopper=shopper, merchant=merchant).membership
    account = points_account(membership)
    now = timezone.now()
    PointsEntryFactory(
        account=account, delta=100, remaining=100, kind="earn", expires_at=now + timedelta(days=10)
    )
    PointsEntryFactory(
        account=account, delta=50, remaining=50, kind="earn", expires_at=now + timedelta(days=300)
    )
    template = CouponTemplateFactory(merchant=merchant, name="Welcome")
    usable = CouponFactory(template=template, shopper=shopper)
    CouponFactory(template=template, shopper=shopper, state="redeemed", redeemed_at=now)
    FollowFactory(shopper=shopper, account=AccountFactory(merchant=merchant, handle="b-koe"), iron_fan=False)
    FollowFactory(shopper=shopper, account=AccountFactory(merchant=merchant, handle="a-brand"), iron_fan=True)
    for i in range(7):
        OrderFactory(
            merchant=merchant, shopper=shopper, external_id=f"o-{i}", paid_at=now - timedelta(days=i)
        )

    response = view(merchant_api, shopper.external_id)

    assert response.status_code == 200
    body = response.json()
    assert body["shopper"] == shopper.external_id
    assert (body["membership"]["number"], body["membership"]["status"], body["membership"]["tier"]) == (
        membership.number,
        "active",
        "Silver",
    )
    assert (body["points"]["balance"], body["points"]["expiring_soon"]) == (150, 100)
    assert [c["code"] for c in body["usable_coupons"]] == [usable.code]
    assert body["usable_coupons"][0]["name"] == "Welcome"
    assert [(f["account"], f["iron_fan"]) for f in body["fan_of"]] == [("a-brand", True), ("b-koe", False)]
    assert [o["external_id"] for o in body["recent_orders"]] == ["o-0", "o-1", "o-2", "o-3", "o-4"]


def test_a_fan_who_never_joined_is_shown_without_membership(merchant_api, merchant):
    fan = FollowFactory(account=AccountFactory(merchant=merchant)).shopper

    body = view(merchant_api, fan.external_id).json()

    assert body["membership"] is None
    assert body["points"]["balance"] == 0


@pytest.mark.parametrize("who", ["unknown", "another merchant's"])
def test_a_shopper_with_no_tie_to_the_merchant_is_404(merchant_api, merchant, other_merchant, who):
    # given: a shopper who is only another merchant's member, fan and buyer
    theirs = ShopperFactory(external_id="theirs")
    membership_enrol(shopper=theirs, merchant=other_merchant)
    FollowFactory(shopper=theirs, account=AccountFactory(merchant=other_merchant))
    OrderFactory(merchant=other_merchant, shopper=theirs)

    external_id = "nobody" if who == "unknown" else "theirs"

    assert_error(view(merchant_api, external_id), 404, "shopper_not_found")


@pytest.mark.parametrize("orders", [1, 10])
def test_the_member_view_costs_a_fixed_number_of_queries(
    merchant_api, merchant, shopper, django_assert_max_num_queries, orders
):
    membership_enrol(shopper=shopper, merchant=merchant)
    for i in range(orders):
        OrderFactory(merchant=merchant, shopper=shopper, external_id=f"o-{i}")
        CouponFactory(template=CouponTemplateFactory(merchant=merchant), shopper=shopper)
        FollowFactory(shopper=shopper, account=AccountFactory(merchant=merchant))

    with django_assert_max_num_queries(VIEW_QUERIES):
        assert view(merchant_api, shopper.external_id).status_code == 200

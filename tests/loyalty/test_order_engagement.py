"""Orders count for iron fans: attributed to ``via_account`` or the brand account, stored on
the order, and the purchase weight on the buyer's fan score (docs/iron-fans.md)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty.services.purchases import purchase_record
from members import services as members_services
from members.engagement.models import EngagementScore
from members.models import Account
from storefront.models import Order
from tests.loyalty.conftest import ORDERS, order_body, order_input
from tests.members.factories import AccountFactory, FanPolicyFactory, FollowFactory


@pytest.fixture
def brand(merchant):
    return AccountFactory(merchant=merchant, kind=Account.Kind.BRAND, handle=merchant.slug)


@pytest.fixture
def koe(merchant):
    return AccountFactory(merchant=merchant, handle="lin")


def test_an_order_without_a_koe_counts_for_the_brand_accounts_fan(merchant, catalog, brand, shopper):
    fan = FollowFactory(shopper=shopper, account=brand)

    purchase_record(merchant=merchant, order=order_input(shopper.external_id))

    order = Order.objects.get(external_id="o-1")
    assert (order.via_account, order.attributed_account) == (None, brand)
    fan.refresh_from_db()
    assert fan.score == pytest.approx(20.0)
    assert fan.score_at == order.paid_at


def test_an_order_through_a_koe_counts_for_the_koe_with_the_merchants_weight(
    merchant_api, merchant, catalog, brand, koe, shopper
):
    FanPolicyFactory(merchant=merchant, weight_purchase=30)
    koe_fan = FollowFactory(shopper=shopper, account=koe)
    brand_fan = FollowFactory(shopper=shopper, account=brand)

    response = merchant_api.post(ORDERS, order_body(shopper.external_id, via_account="lin"), format="json")

    assert response.status_code == 201, response.content
    assert Order.objects.get(external_id="o-1").attributed_account == koe
    koe_fan.refresh_from_db()
    brand_fan.refresh_from_db()
    assert (koe_fan.score, brand_fan.score) == (pytest.approx(30.0), 0.0)


def test_a_member_buying_without_following_earns_a_score_their_follow_starts_from(
    merchant, catalog, member, brand, shopper
):
    purchase_record(merchant=merchant, order=order_input(shopper.external_id))
    assert EngagementScore.objects.get(account=brand, shopper=shopper).score == pytest.approx(20.0)

    follow, _ = members_services.follow_create(shopper=shopper, handle=brand.handle)

    follow.refresh_from_db()
    assert follow.score == pytest.approx(20.0)


def test_a_first_time_buyer_counts_too(merchant, catalog, brand):
    purchase_record(
        merchant=merchant, order=order_input("walk-in", paid_at=timezone.now() - timedelta(days=1))
    )

    order = Order.objects.get(external_id="o-1")
    assert order.attributed_account == brand
    assert EngagementScore.objects.get(account=brand, shopper=order.shopper).score == pytest.approx(20.0)


def test_a_replayed_order_counts_once(merchant_api, merchant, catalog, brand, shopper):
    fan = FollowFactory(shopper=shopper, account=brand)
    body = order_body(shopper.external_id)

    first = merchant_api.post(ORDERS, body, format="json")
    again = merchant_api.post(ORDERS, body, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    fan.refresh_from_db()
    assert fan.score == pytest.approx(20.0)


def test_a_merchant_without_a_brand_account_takes_orders_without_attribution(merchant, catalog, shopper):
    purchase_record(merchant=merchant, order=order_input(shopper.external_id))

    assert Order.objects.get(external_id="o-1").attributed_account is None
    assert not EngagementScore.objects.exists()


def test_a_refused_order_moves_no_score(merchant_api, merchant, catalog, brand, shopper):
    fan = FollowFactory(shopper=shopper, account=brand)

    response = merchant_api.post(ORDERS, order_body(shopper.external_id, via_account="nobody"), format="json")

    assert response.status_code == 400
    fan.refresh_from_db()
    assert fan.score == 0.0


def test_another_merchants_koe_is_refused_as_via_account(
    merchant_api, other_merchant, catalog, brand, shopper
):
    AccountFactory(merchant=other_merchant, handle="theirs")

    response = merchant_api.post(ORDERS, order_body(shopper.external_id, via_account="theirs"), format="json")

    assert response.status_code == 400
    assert not EngagementScore.objects.exists()
    assert not Order.objects.exists()

"""Orders count for iron fans: attributed to ``via_account`` or the brand account, stored on
the order, and the purchase weight on the buyer's fan score (docs/iron-fans.md)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty.services.engagement import engagement_record
from loyalty.services.purchases import purchase_record
from members import services as members_services
from members.engagement.jobs import iron_fans_recompute
from members.engagement.models import EngagementEvent, EngagementScore
from members.engagement.services import EventInput
from members.models import Account, Follow
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


# --- An order's day counts as an active day (min_active_days) ----------------------------


def test_an_order_writes_a_purchase_event_for_its_attributed_account(merchant, catalog, brand, koe, shopper):
    purchase_record(merchant=merchant, order=order_input(shopper.external_id, via_account="lin"))

    order = Order.objects.get(external_id="o-1")
    event = EngagementEvent.objects.get()
    assert (event.account, event.shopper, event.kind, event.quantity) == (koe, shopper, "purchase", 1)
    assert (event.occurred_at, event.source_id) == (order.paid_at, None)


def test_a_refused_or_replayed_order_writes_no_second_event(merchant_api, merchant, catalog, brand, shopper):
    body = order_body(shopper.external_id)
    merchant_api.post(ORDERS, body, format="json")
    merchant_api.post(ORDERS, body, format="json")
    merchant_api.post(ORDERS, order_body(shopper.external_id, "o-2", via_account="nobody"), format="json")

    assert EngagementEvent.objects.count() == 1


def test_days_with_an_order_count_for_min_active_days(merchant, catalog, brand, shopper, clock):
    # given: a policy asking for 3 active days, a fan whose score is high enough, who
    # engaged on one day and ordered on two others
    FanPolicyFactory(merchant=merchant, min_active_days=3, promote_at=40, demote_below=25)
    fan = FollowFactory(shopper=shopper, account=brand)
    EngagementEvent.objects.create(
        account=brand, shopper=shopper, kind="like", occurred_at=clock.now - timedelta(days=5)
    )
    for n, days_ago in enumerate((3, 1)):
        purchase_record(
            merchant=merchant,
            order=order_input(shopper.external_id, f"o-{n}", paid_at=clock.now - timedelta(days=days_ago)),
        )
    Follow.objects.filter(pk=fan.pk).update(score=100.0, score_at=clock.now)

    # when
    iron_fans_recompute(merchant=merchant, now=clock.now)

    # then: three distinct days, two of them order days: an iron fan
    fan.refresh_from_db()
    assert fan.iron_fan


def test_order_days_alone_below_min_active_days_do_not_promote(merchant, catalog, brand, shopper, clock):
    FanPolicyFactory(merchant=merchant, min_active_days=3, promote_at=40, demote_below=25)
    fan = FollowFactory(shopper=shopper, account=brand)
    for n, days_ago in enumerate((2, 2, 1)):  # two orders on one day: one active day
        purchase_record(
            merchant=merchant,
            order=order_input(shopper.external_id, f"o-{n}", paid_at=clock.now - timedelta(days=days_ago)),
        )
    Follow.objects.filter(pk=fan.pk).update(score=100.0, score_at=clock.now)

    iron_fans_recompute(merchant=merchant, now=clock.now)

    fan.refresh_from_db()
    assert not fan.iron_fan


# --- A refund takes back its share of the purchase weight --------------------------------


def refund(merchant_api, external_id: str, *lines):
    return merchant_api.post(
        f"{ORDERS}/o-1/refunds",
        {"external_id": external_id, "lines": [{"sku": s, "quantity": q} for s, q in lines]},
        format="json",
    )


def test_a_full_refund_takes_back_the_whole_purchase_weight(
    merchant_api, merchant, catalog, brand, shopper, clock
):
    # given: a fan with 10 points from 14 days ago (half-life 14 days), then an order: 5 + 20
    fan = FollowFactory(shopper=shopper, account=brand, score=10.0, score_at=clock.now - timedelta(days=14))
    merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")
    fan.refresh_from_db()
    assert fan.score == pytest.approx(25.0)

    # when: the whole order comes back
    response = refund(merchant_api, "r-1", ("S0", 2), ("S1", 1))

    # then: 25 - 20 = 5, the time of the score unchanged
    assert response.status_code == 201, response.content
    fan.refresh_from_db()
    assert (fan.score, fan.score_at) == (pytest.approx(5.0), clock.now)


def test_a_partial_refund_takes_back_the_refunded_share_decayed_like_the_score(
    merchant_api, merchant, catalog, brand, shopper, clock
):
    # given: an order of 21.00 + 3.25 = 24.25 (weight 20), then a like 14 days later:
    # the score is 20 * 0.5 + 2 = 12 at that time
    fan = FollowFactory(shopper=shopper, account=brand)
    merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")
    clock.now += timedelta(days=14)
    members_services_like(brand, shopper, clock.now)
    fan.refresh_from_db()
    assert fan.score == pytest.approx(12.0)

    # when: one of the two S0 (10.50 of 24.25) comes back, then the rest
    refund(merchant_api, "r-1", ("S0", 1))
    fan.refresh_from_db()
    after_first = fan.score
    refund(merchant_api, "r-2", ("S0", 1), ("S1", 1))
    fan.refresh_from_db()

    # then: 12 - 20 * 0.5 * 10.50 / 24.25, and after the rest 12 - 10 = 2 (the like)
    assert after_first == pytest.approx(12.0 - 10.0 * 10.50 / 24.25)
    assert fan.score == pytest.approx(2.0)


def test_a_refund_lowers_the_waiting_score_of_a_buyer_who_does_not_follow(
    merchant_api, merchant, catalog, brand, shopper
):
    merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")

    refund(merchant_api, "r-1", ("S1", 1))  # 3.25 of 24.25

    waiting = EngagementScore.objects.get(account=brand, shopper=shopper)
    assert waiting.score == pytest.approx(20.0 - 20.0 * 3.25 / 24.25)


def test_a_replayed_refund_takes_back_nothing_more(merchant_api, merchant, catalog, brand, shopper):
    fan = FollowFactory(shopper=shopper, account=brand)
    merchant_api.post(ORDERS, order_body(shopper.external_id), format="json")

    refund(merchant_api, "r-1", ("S1", 1))
    refund(merchant_api, "r-1", ("S1", 1))

    fan.refresh_from_db()
    assert fan.score == pytest.approx(20.0 - 20.0 * 3.25 / 24.25)


def members_services_like(account, shopper, at) -> None:
    """A like through the engagement pipeline (weight 2)."""
    engagement_record(
        merchant=account.merchant,
        events=[EventInput(shopper=shopper.external_id, account=account.handle, kind="like", occurred_at=at)],
    )

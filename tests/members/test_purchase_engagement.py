"""``purchase_engagement_add``: the purchase pipeline's one event, in as few statements as it can."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.engagement.models import EngagementEvent, EngagementScore
from members.engagement.services import purchase_engagement_add
from members.models import Account
from tests.members.factories import AccountFactory, FanPolicyFactory, FollowFactory, ShopperFactory

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def brand(merchant):
    return AccountFactory(merchant=merchant, kind=Account.Kind.BRAND, handle=merchant.slug)


def add(merchant, shopper, account=None, source="order:o-1", at=AT):
    return purchase_engagement_add(
        merchant_id=merchant.pk,
        shopper_id=shopper.pk,
        account_id=account.pk if account else None,
        source_id=source,
        occurred_at=at,
    )


def test_a_purchase_without_a_koe_goes_to_the_brand_accounts_fan(merchant, brand):
    fan = FollowFactory(account=brand, score=10.0, score_at=AT - timedelta(days=14))

    attributed = add(merchant, fan.shopper)

    assert attributed == brand.pk
    fan.refresh_from_db()
    assert (fan.score, fan.score_at) == (pytest.approx(5.0 + 20.0), AT)
    event = EngagementEvent.objects.get()
    assert (event.account_id, event.kind, event.source_id) == (brand.pk, "purchase", "order:o-1")


def test_a_purchase_through_a_koe_weighs_with_the_merchants_policy(merchant, brand):
    FanPolicyFactory(merchant=merchant, weight_purchase=50, half_life_days=7)
    koe = AccountFactory(merchant=merchant)
    fan = FollowFactory(account=koe, score=8.0, score_at=AT - timedelta(days=7))

    assert add(merchant, fan.shopper, koe) == koe.pk

    fan.refresh_from_db()
    assert fan.score == pytest.approx(4.0 + 50.0)


def test_a_buyer_who_does_not_follow_earns_a_waiting_score(merchant, brand):
    buyer = ShopperFactory()
    add(merchant, buyer, source="order:o-1")

    add(merchant, buyer, source="order:o-2", at=AT + timedelta(days=14))

    waiting = EngagementScore.objects.get(account=brand, shopper=buyer)
    assert (waiting.score, waiting.score_at) == (pytest.approx(10.0 + 20.0), AT + timedelta(days=14))


def test_the_same_order_twice_counts_once(merchant, brand):
    fan = FollowFactory(account=brand)
    add(merchant, fan.shopper)

    assert add(merchant, fan.shopper) is None

    fan.refresh_from_db()
    assert fan.score == pytest.approx(20.0)
    assert EngagementEvent.objects.count() == 1


def test_a_merchant_without_a_brand_account_records_nothing(merchant):
    assert add(merchant, ShopperFactory()) is None
    assert not EngagementEvent.objects.exists()


def test_another_merchants_account_is_never_credited(merchant, other_merchant, brand):
    theirs = AccountFactory(merchant=other_merchant)
    fan = FollowFactory(account=theirs)

    assert add(merchant, fan.shopper, theirs) is None

    fan.refresh_from_db()
    assert fan.score == 0.0


def test_on_postgresql_it_is_one_statement(merchant, brand):
    buyer = ShopperFactory()
    with CaptureQueriesContext(connection) as queries:
        add(merchant, buyer)

    expected = 1 if connection.vendor == "postgresql" else 3
    assert len(queries) == expected

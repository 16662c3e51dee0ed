"""``purchase_engagement_record``: an order's purchase on the fan score and as an event, in one
statement on PostgreSQL (two on SQLite); ``purchase_score_remove``: a refund's share back."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.engagement.models import EngagementEvent, EngagementScore
from members.engagement.services.purchase import purchase_engagement_record, purchase_score_remove
from tests.conftest import requires_postgres
from tests.members.factories import AccountFactory, FanPolicyFactory, FollowFactory, ShopperFactory

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def koe(merchant):
    return AccountFactory(merchant=merchant)


def add(merchant, shopper, account, *, follows: bool, at=AT):
    purchase_engagement_record(
        merchant_id=merchant.pk, shopper_id=shopper.pk, account_id=account.pk, occurred_at=at, follows=follows
    )


def test_a_purchase_adds_its_weight_to_the_decayed_score_of_the_fan(merchant, koe):
    fan = FollowFactory(account=koe, score=10.0, score_at=AT - timedelta(days=14))

    add(merchant, fan.shopper, koe, follows=True)

    fan.refresh_from_db()
    assert (fan.score, fan.score_at) == (pytest.approx(5.0 + 20.0), AT)
    event = EngagementEvent.objects.get()  # the order's day counts for min_active_days
    assert (event.kind, event.account_id, event.shopper_id, event.occurred_at) == (
        "purchase",
        koe.pk,
        fan.shopper_id,
        AT,
    )


def test_the_merchants_policy_gives_the_weight_and_the_half_life(merchant, koe):
    FanPolicyFactory(merchant=merchant, weight_purchase=50, half_life_days=7)
    fan = FollowFactory(account=koe, score=8.0, score_at=AT - timedelta(days=7))

    add(merchant, fan.shopper, koe, follows=True)

    fan.refresh_from_db()
    assert fan.score == pytest.approx(4.0 + 50.0)


def test_a_buyer_who_does_not_follow_earns_a_waiting_score(merchant, koe):
    buyer = ShopperFactory()
    add(merchant, buyer, koe, follows=False)

    add(merchant, buyer, koe, follows=False, at=AT + timedelta(days=14))

    waiting = EngagementScore.objects.get(account=koe, shopper=buyer)
    assert (waiting.score, waiting.score_at) == (pytest.approx(10.0 + 20.0), AT + timedelta(days=14))


def test_a_purchase_is_one_statement_on_postgresql_two_on_sqlite(merchant, koe):
    fan = FollowFactory(account=koe)

    with CaptureQueriesContext(connection) as queries:
        add(merchant, fan.shopper, koe, follows=True)

    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
    fan.refresh_from_db()
    assert fan.score == pytest.approx(20.0)


@requires_postgres
def test_on_postgresql_the_statement_finds_the_follow_by_itself(merchant, koe):
    # A follow made by a concurrent transaction after the caller looked: still credited.
    fan = FollowFactory(account=koe)

    add(merchant, fan.shopper, koe, follows=False)

    fan.refresh_from_db()
    assert fan.score == pytest.approx(20.0)
    assert not EngagementScore.objects.exists()


def test_a_refund_share_comes_off_the_score_decayed_to_its_time_and_never_below_zero(merchant, koe):
    # the order's 20 at AT, seen 14 days later (half-life 14): 10 of a score of 12
    fan = FollowFactory(account=koe, score=12.0, score_at=AT + timedelta(days=14))
    other = FollowFactory(account=koe, score=3.0, score_at=AT)

    purchase_score_remove(
        merchant_id=merchant.pk, shopper_id=fan.shopper_id, account_id=koe.pk, paid_at=AT, share=0.25
    )
    purchase_score_remove(
        merchant_id=merchant.pk, shopper_id=other.shopper_id, account_id=koe.pk, paid_at=AT, share=1
    )

    fan.refresh_from_db()
    other.refresh_from_db()
    assert (fan.score, fan.score_at) == (pytest.approx(12.0 - 0.25 * 10.0), AT + timedelta(days=14))
    assert other.score == 0.0

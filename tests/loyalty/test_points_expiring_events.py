"""``points.expiring``: once a day, one event per member whose points enter the 30-day
window, each lot announced once."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.models import PointsExpiryNotice
from loyalty.services.expiry_notices import points_expiring_notify
from loyalty.services.points import points_spend
from members.webhooks import endpoints
from members.webhooks.models import WebhookEvent
from tests.clock import T0
from tests.conftest import requires_postgres
from tests.loyalty.conftest import points_account
from tests.loyalty.test_points_expiring_soon import lot
from tests.loyalty.test_wallet_api import join
from tests.members.factories import ShopperFactory
from tests.threads import all_at_once

DAY = timedelta(days=1)


@pytest.fixture
def account(clock, shopper, merchant):
    return points_account(join(shopper, merchant))


def listen(merchant, *types: str) -> None:
    endpoints.webhook_endpoint_create(
        merchant=merchant, url="https://hooks.example.com/p", events=list(types)
    )
    merchant.refresh_from_db()


def notices() -> list[dict]:
    return [event.payload for event in WebhookEvent.objects.filter(type="points.expiring").order_by("pk")]


def test_a_member_hears_of_the_points_that_expire_within_30_days_with_each_lot(merchant, shopper, account):
    listen(merchant, "points.expiring")
    lot(account, 100, 5)
    lot(account, 50, 20)
    lot(account, 70, 45)  # not yet
    lot(account, 30, None)  # never

    result = points_expiring_notify(now=T0)

    assert notices() == [
        {
            "shopper": shopper.external_id,
            "membership_number": account.membership.number,
            "points": 150,
            "first_expires_at": "2026-03-07T12:00:00Z",
            "lots": [
                {"points": 100, "expires_at": "2026-03-07T12:00:00Z"},
                {"points": 50, "expires_at": "2026-03-22T12:00:00Z"},
            ],
        }
    ]
    assert (result.merchants, result.members, result.lots, result.points) == (1, 1, 2, 150)


def test_each_lot_is_announced_once_and_a_later_lot_when_it_enters_the_window(merchant, account):
    listen(merchant, "points.expiring")
    lot(account, 100, 5)
    lot(account, 70, 45)
    points_expiring_notify(now=T0)

    again = points_expiring_notify(now=T0 + DAY)  # the same lot, a day later
    assert (again.members, again.lots) == (0, 0)
    later = points_expiring_notify(now=T0 + 16 * DAY)  # the 45-day lot is 29 days out

    assert [(n["points"], n["first_expires_at"]) for n in notices()] == [
        (100, "2026-03-07T12:00:00Z"),
        (70, "2026-04-16T12:00:00Z"),
    ]
    assert later.lots == 1
    assert PointsExpiryNotice.objects.count() == 2


def test_spent_points_are_not_announced_and_the_rest_of_a_lot_is(merchant, account):
    listen(merchant, "points.expiring")
    lot(account, 100, 5)
    lot(account, 50, 20)
    points_spend(account=account, points=120, reason="gift")  # the first to expire go first

    points_expiring_notify(now=T0)

    assert [(n["points"], n["lots"]) for n in notices()] == [
        (30, [{"points": 30, "expires_at": "2026-03-22T12:00:00Z"}])
    ]


def test_a_merchant_nobody_listens_to_is_not_read(merchant, account):
    lot(account, 100, 5)
    listen(merchant, "order.recorded")

    with CaptureQueriesContext(connection) as read:
        result = points_expiring_notify(now=T0)

    assert (result.merchants, result.lots) == (0, 0)
    assert len(read.captured_queries) == 1  # the merchants' subscriptions, nothing else
    assert not PointsExpiryNotice.objects.exists()
    assert not WebhookEvent.objects.exists()


def test_one_event_per_member_and_only_the_listening_merchants_members(
    clock, merchant, other_merchant, shopper, account
):
    listen(merchant, "points.expiring")
    second = points_account(join(ShopperFactory(), merchant))
    theirs = points_account(join(shopper, other_merchant))
    lot(account, 10, 3)
    lot(account, 20, 4)
    lot(second, 5, 6)
    lot(theirs, 99, 3)

    points_expiring_notify(now=T0, batch_accounts=1)  # a chunk per account

    assert sorted((n["membership_number"], n["points"]) for n in notices()) == sorted(
        [(account.membership.number, 30), (second.membership.number, 5)]
    )
    assert set(WebhookEvent.objects.values_list("merchant_id", flat=True)) == {merchant.pk}


def test_beat_announces_daily_through_a_task_the_worker_knows(merchant, account):
    from loyalty import tasks
    from loyalty.celery import app
    from loyalty.schedule import BEAT_SCHEDULE

    app.loader.import_default_modules()
    listen(merchant, "points.expiring")
    lot(account, 100, 5)

    assert BEAT_SCHEDULE["announce-expiring-points-daily"]["task"] == "loyalty.announce_expiring_points"
    assert "loyalty.announce_expiring_points" in app.tasks
    assert tasks.announce_expiring_points.run() == {"merchants": 1, "members": 1, "lots": 1, "points": 100}


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_announce_each_lot_once(clock, merchant, shopper):
    listen(merchant, "points.expiring")
    accounts = [points_account(join(ShopperFactory(), merchant)) for _ in range(6)]
    for account in accounts:
        lot(account, 10, 3)
        lot(account, 20, 9)

    runs = all_at_once([lambda: points_expiring_notify(now=T0, batch_accounts=2)] * 2)

    assert sum(run.lots for run in runs) == 12
    assert PointsExpiryNotice.objects.count() == 12
    assert sorted(n["points"] for n in notices()) == [30] * 6

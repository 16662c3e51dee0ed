"""The recompute tells the merchant's webhooks who became and who stopped being an iron fan."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import OutboxMessage
from members.engagement import jobs
from members.fan_counts import fan_counts_recount
from members.models import Follow
from members.webhooks import endpoints
from members.webhooks.models import WebhookEvent
from tests.conftest import requires_postgres
from tests.members.factories import AccountFactory, FanPolicyFactory, FollowFactory
from tests.threads import all_at_once

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HALF_LIFE = timedelta(days=14)


@pytest.fixture
def account(merchant):
    FanPolicyFactory(merchant=merchant, promote_at=40, demote_below=25, half_life_days=14, min_active_days=0)
    return AccountFactory(merchant=merchant, handle="brand_acme", kind="brand")


def fan(account, *, score: float, iron: bool = False) -> Follow:
    return FollowFactory(
        account=account,
        score=score,
        score_at=NOW - HALF_LIFE,
        iron_fan=iron,
        iron_fan_since=NOW - timedelta(days=30) if iron else None,
    )


def listen(merchant, *types: str) -> None:
    url = "https://hooks.example.com/fans"
    endpoints.webhook_endpoint_create(merchant=merchant, url=url, events=list(types))
    merchant.refresh_from_db()


def events(type: str) -> list[dict]:
    return [event.payload for event in WebhookEvent.objects.filter(type=type).order_by("pk")]


def test_a_promotion_and_a_demotion_are_each_an_event_with_the_fan_and_the_account(merchant, account):
    listen(merchant, "iron_fan.promoted", "iron_fan.demoted")
    rising = fan(account, score=100.0)  # 50 now: promoted
    fading = fan(account, score=40.0, iron=True)  # 20 now: demoted
    fan(account, score=60.0)  # 30 now: stays a fan

    jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    assert events("iron_fan.promoted") == [
        {
            "shopper": rising.shopper.external_id,
            "account": "brand_acme",
            "account_kind": "brand",
            "score": 50.0,
            "at": "2026-11-20T12:00:00Z",
        }
    ]
    assert [(e["shopper"], e["score"]) for e in events("iron_fan.demoted")] == [
        (fading.shopper.external_id, 20.0)
    ]
    # One fan-out message per type of the range, sent with the range's transaction.
    assert OutboxMessage.objects.filter(task="members.webhook_fan_out").count() == 2


def test_only_the_types_an_endpoint_wants_are_written(merchant, account):
    listen(merchant, "iron_fan.demoted")
    fan(account, score=100.0)
    fading = fan(account, score=40.0, iron=True)

    jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    assert list(WebhookEvent.objects.values_list("type", flat=True)) == ["iron_fan.demoted"]
    assert events("iron_fan.demoted")[0]["shopper"] == fading.shopper.external_id


def test_nobody_listening_costs_the_range_no_statement(merchant, account):
    fan(account, score=100.0)
    fan(account, score=40.0, iron=True)
    merchant.refresh_from_db()

    with CaptureQueriesContext(connection) as unheard:
        jobs.iron_fans_recompute(merchant=merchant, now=NOW)
    Follow.objects.update(iron_fan=False, iron_fan_since=None, score=100.0)
    fan_counts_recount(account_ids=Follow.objects.values_list("account_id", flat=True))
    listen(merchant, "order.recorded")  # an endpoint, but not for fans
    with CaptureQueriesContext(connection) as other_types:
        jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    assert not WebhookEvent.objects.exists()
    assert not any("webhook" in q["sql"] for q in unheard.captured_queries + other_types.captured_queries)


def test_a_second_run_changes_nobody_and_writes_no_event(merchant, account):
    listen(merchant, "iron_fan.promoted", "iron_fan.demoted")
    fan(account, score=100.0)
    fan(account, score=40.0, iron=True)
    jobs.iron_fans_recompute(merchant=merchant, now=NOW)
    written = WebhookEvent.objects.count()

    jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    assert written == 2
    assert WebhookEvent.objects.count() == written


def test_another_merchants_fans_are_not_in_this_merchants_events(merchant, other_merchant, account):
    listen(merchant, "iron_fan.promoted")
    listen(other_merchant, "iron_fan.promoted")
    FanPolicyFactory(merchant=other_merchant, promote_at=40, demote_below=25, half_life_days=14)
    theirs = fan(AccountFactory(merchant=other_merchant), score=100.0)
    ours = fan(account, score=100.0)

    jobs.iron_fans_recompute(merchant=merchant, now=NOW)

    assert [(e.merchant_id, e.payload["shopper"]) for e in WebhookEvent.objects.all()] == [
        (merchant.pk, ours.shopper.external_id)
    ]
    assert theirs.shopper.external_id != ours.shopper.external_id


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_change_once(merchant, account, monkeypatch):
    monkeypatch.setattr(jobs, "RECOMPUTE_CHUNK_FOLLOWS", 7)
    listen(merchant, "iron_fan.promoted", "iron_fan.demoted")
    for _ in range(30):
        fan(account, score=100.0)
    for _ in range(10):
        fan(account, score=1.0, iron=True)

    all_at_once([lambda: jobs.iron_fans_recompute(merchant=merchant, now=NOW)] * 2)

    assert WebhookEvent.objects.filter(type="iron_fan.promoted").count() == 30
    assert WebhookEvent.objects.filter(type="iron_fan.demoted").count() == 10

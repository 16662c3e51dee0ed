"""POST /api/v1/merchant/engagement: platform events in, deduped, scores moved."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.engagement.models import EngagementEvent, EngagementScore
from members.models import Follow, Shopper
from tests.conftest import assert_error, merchant_client, requires_postgres, row_counts
from tests.members.factories import AccountFactory, FollowFactory, ShopperFactory

ENGAGEMENT = "/api/v1/merchant/engagement"
# Key, policy, accounts, shoppers (one statement on PostgreSQL, insert + select on
# SQLite), event insert, follows, waiting scores: at most eight, the same for 1 event or
# 1000; inside the test's transaction the atomic block adds its savepoint.
BATCH_STATEMENTS = 10


@pytest.fixture
def account(merchant):
    return AccountFactory(merchant=merchant, handle="lin")


def event(**overrides) -> dict:
    body = {
        "shopper": "fan-1",
        "account": "lin",
        "kind": "like",
        "occurred_at": timezone.now().isoformat(),
    }
    return body | overrides


def test_a_batch_is_202_with_accepted_and_duplicates(merchant_api, account):
    events = [event(id="e1"), event(id="e2", kind="comment"), event(kind="view")]

    response = merchant_api.post(ENGAGEMENT, {"events": events}, format="json")

    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 3, "duplicates": 0}
    assert EngagementEvent.objects.filter(account=account).count() == 3


def test_a_redelivered_event_id_counts_once(merchant_api, account):
    at = timezone.now().isoformat()
    first = merchant_api.post(ENGAGEMENT, {"events": [event(id="e1", occurred_at=at)]}, format="json")
    follow_score_before = list(EngagementScore.objects.values_list("score", flat=True))

    again = merchant_api.post(
        ENGAGEMENT,
        {"events": [event(id="e1", occurred_at=at), event(id="e2", occurred_at=at)]},
        format="json",
    )

    assert first.json() == {"accepted": 1, "duplicates": 0}
    assert again.json() == {"accepted": 1, "duplicates": 1}
    assert EngagementEvent.objects.count() == 2
    assert follow_score_before == [2.0]  # one like, weight 2
    assert EngagementScore.objects.get().score == pytest.approx(4.0)


def test_the_same_id_twice_in_one_batch_counts_once(merchant_api, account):
    at = timezone.now().isoformat()

    response = merchant_api.post(
        ENGAGEMENT, {"events": [event(id="x", occurred_at=at), event(id="x", occurred_at=at)]}, format="json"
    )

    assert response.json() == {"accepted": 1, "duplicates": 1}


def test_the_same_id_on_another_account_is_another_event(merchant_api, merchant, account):
    AccountFactory(merchant=merchant, handle="jo")
    at = timezone.now().isoformat()
    events = [event(id="x", occurred_at=at), event(id="x", occurred_at=at, account="jo")]

    response = merchant_api.post(ENGAGEMENT, {"events": events}, format="json")

    assert response.json() == {"accepted": 2, "duplicates": 0}


def test_unknown_shoppers_are_created(merchant_api, account):
    response = merchant_api.post(ENGAGEMENT, {"events": [event(shopper="newcomer")]}, format="json")

    assert response.status_code == 202
    assert Shopper.objects.filter(external_id="newcomer").exists()


def test_a_followers_score_moves_and_a_non_follower_waits(merchant_api, account):
    fan = FollowFactory(account=account, shopper=ShopperFactory(external_id="fan-1"))
    events = [event(kind="comment"), event(kind="share", shopper="passer-by")]

    merchant_api.post(ENGAGEMENT, {"events": events}, format="json")

    fan.refresh_from_db()
    assert fan.score == pytest.approx(4.0)
    assert fan.score_at is not None
    waiting = EngagementScore.objects.get(shopper__external_id="passer-by")
    assert waiting.score == pytest.approx(6.0)
    assert not Follow.objects.filter(shopper__external_id="passer-by").exists()


def test_live_watch_weighs_by_minutes(merchant_api, account):
    fan = FollowFactory(account=account, shopper=ShopperFactory(external_id="fan-1"))

    merchant_api.post(ENGAGEMENT, {"events": [event(kind="live_watch", quantity=30)]}, format="json")

    fan.refresh_from_db()
    assert fan.score == pytest.approx(15.0)  # 0.5 per minute


def test_an_old_event_weighs_what_its_age_says(merchant_api, account):
    fan = FollowFactory(account=account, shopper=ShopperFactory(external_id="fan-1"))
    now = timezone.now()
    merchant_api.post(
        ENGAGEMENT, {"events": [event(kind="share", occurred_at=now.isoformat())]}, format="json"
    )

    # A share 14 days (one half-life) before the first one arrives late.
    late = (now - timedelta(days=14)).isoformat()
    response = merchant_api.post(
        ENGAGEMENT, {"events": [event(kind="share", occurred_at=late)]}, format="json"
    )

    assert response.status_code == 202
    fan.refresh_from_db()
    assert fan.score == pytest.approx(6.0 + 3.0)


def test_a_batch_takes_the_same_statements_for_one_event_or_a_thousand(merchant, account):
    client = merchant_client(merchant)
    FollowFactory(account=account, shopper=ShopperFactory(external_id="fan-0"))
    now = timezone.now()
    big = [
        event(
            id=f"e{i}",
            shopper=f"fan-{i % 300}",
            kind="view",
            occurred_at=(now - timedelta(seconds=i)).isoformat(),
        )
        for i in range(1000)
    ]

    with CaptureQueriesContext(connection) as one:
        client.post(ENGAGEMENT, {"events": [event(id="solo")]}, format="json")
    with CaptureQueriesContext(connection) as thousand:
        response = client.post(ENGAGEMENT, {"events": big}, format="json")

    assert response.json() == {"accepted": 1000, "duplicates": 0}
    assert len(thousand) == len(one) <= BATCH_STATEMENTS, "\n".join(q["sql"][:120] for q in thousand)


# --- Refusals: the whole batch, nothing written ----------------------------------------


@pytest.mark.parametrize(
    ("bad", "code", "attr"),
    [
        ({"kind": "poke"}, "invalid_choice", "events.1.kind"),
        ({"quantity": 0}, "min_value", "events.1.quantity"),
        ({"quantity": 1441}, "max_value", "events.1.quantity"),
        ({"occurred_at": "yesterday"}, "invalid", "events.1.occurred_at"),
        ({"shopper": ""}, "blank", "events.1.shopper"),
        ({"shopper": None}, "null", "events.1.shopper"),
        ({"shopper": ["a"]}, "invalid", "events.1.shopper"),
        ({"account": "x" * 51}, "max_length", "events.1.account"),
        ({"id": "i" * 129}, "max_length", "events.1.id"),
        ({"sku": "s" * 65}, "max_length", "events.1.sku"),
        ({"quantity": "many"}, "invalid", "events.1.quantity"),
        ({"quantity": True}, "invalid", "events.1.quantity"),
        ({"quantity": 2.5}, "invalid", "events.1.quantity"),
        ({"kind": ["like"]}, "invalid_choice", "events.1.kind"),
        ({"occurred_at": 1733000000}, "invalid", "events.1.occurred_at"),
        ({"occurred_at": "2026-11-30T10:00:00"}, "naive", "events.1.occurred_at"),
        ({"occurred_at": "0001-01-01T00:00:00+14:00"}, "date_out_of_range", "events.1.occurred_at"),
        ({"occurred_at": "9999-12-31T23:59:59-14:00"}, "occurred_in_future", "events.1.occurred_at"),
        ({"shopper": "nul\x00byte"}, "null_characters_not_allowed", "events.1.shopper"),
        ({"sku": "nul\x00"}, "null_characters_not_allowed", "events.1.sku"),
        ({"account": "nobody-here"}, "unknown_account", "events.1.account"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_in_future", "events.1.occurred_at"),
    ],
)
def test_a_batch_with_one_bad_event_is_refused_whole(merchant_api, account, bad, code, attr):
    before = row_counts()

    response = merchant_api.post(
        ENGAGEMENT, {"events": [event(shopper="ok-fan"), event(shopper="new-fan") | bad]}, format="json"
    )

    assert_error(response, 400, code, attr)
    assert row_counts() == before


def test_a_lone_surrogate_is_refused(merchant_api, account):
    # JSON may escape one (\ud800) although no UTF-8 text can hold it; the strict
    # parser (core) refuses the body before any event is read.
    body = json.dumps({"events": [event()]})[:-3] + ', "id": "half\\ud800"}]}'
    before = row_counts()

    response = merchant_api.generic("POST", ENGAGEMENT, body, content_type="application/json")

    assert_error(response, 400, "parse_error")
    assert row_counts() == before


def test_an_event_a_few_minutes_ahead_is_accepted(merchant_api, account):
    soon = (timezone.now() + timedelta(minutes=4)).isoformat()

    response = merchant_api.post(ENGAGEMENT, {"events": [event(occurred_at=soon)]}, format="json")

    assert response.status_code == 202


def test_another_merchants_account_refuses_the_batch(merchant_api, other_merchant, account):
    AccountFactory(merchant=other_merchant, handle="theirs")
    before = row_counts()

    response = merchant_api.post(ENGAGEMENT, {"events": [event(), event(account="theirs")]}, format="json")

    assert_error(response, 400, "unknown_account", "events.1.account")
    assert row_counts() == before


def test_more_than_a_thousand_events_are_refused(merchant_api, account):
    before = row_counts()

    response = merchant_api.post(ENGAGEMENT, {"events": [event()] * 1001}, format="json")

    assert_error(response, 400, "max_length", "events")
    assert row_counts() == before


def test_missing_fields_are_named_one_by_one(merchant_api, account):
    response = merchant_api.post(ENGAGEMENT, {"events": [event(), {"kind": "like"}]}, format="json")

    for name in ("shopper", "account", "occurred_at"):
        assert_error(response, 400, "required", f"events.1.{name}")


def test_a_time_in_another_zone_is_stored_in_utc(merchant_api, account):
    response = merchant_api.post(
        ENGAGEMENT,
        {"events": [event(occurred_at="2026-11-30T10:00:00+08:00", shopper="12345", id="77", quantity=3)]},
        format="json",
    )

    assert response.status_code == 202, response.content
    stored = EngagementEvent.objects.get()
    assert (
        stored.occurred_at.isoformat(),
        stored.shopper.external_id,
        stored.source_id,
        stored.quantity,
    ) == (
        "2026-11-30T02:00:00+00:00",
        "12345",
        "77",
        3,
    )


@pytest.mark.parametrize("body", [{}, {"events": "many"}, {"events": [1]}, [], {"events": {"a": 1}}])
def test_a_body_of_the_wrong_shape_is_refused(merchant_api, account, body):
    before = row_counts()

    response = merchant_api.post(ENGAGEMENT, body, format="json")

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert row_counts() == before


def test_without_a_key_it_is_401(api, account):
    response = api.post(ENGAGEMENT, {"events": [event()]}, format="json")

    assert_error(response, 401, "not_authenticated")


# --- Concurrency --------------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_identical_batches_at_once_count_each_event_once(merchant, account):
    fan = FollowFactory(account=account, shopper=ShopperFactory(external_id="fan-1"))
    at = timezone.now().isoformat()
    body = {"events": [event(id=f"e{i}", occurred_at=at, kind="like") for i in range(50)]}
    clients = [merchant_client(merchant) for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    answers = []

    def send(client):
        try:
            barrier.wait()
            answers.append(client.post(ENGAGEMENT, body, format="json").json())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(a["accepted"] for a in answers) == 50
    assert sum(a["duplicates"] for a in answers) == 150
    assert EngagementEvent.objects.count() == 50
    fan.refresh_from_db()
    assert fan.score == pytest.approx(100.0)


def test_an_event_naming_a_sku_moves_the_shoppers_preferences_once(merchant, merchant_api, account):
    from storefront.models import Preference
    from tests.storefront.factories import CategoryFactory, ProductFactory

    ProductFactory(
        merchant=merchant, sku="TEA-1", category=CategoryFactory(merchant=merchant, slug="tea"), tags=[]
    )
    at = timezone.now().isoformat()
    share = event(id="e1", kind="share", sku="TEA-1", occurred_at=at)

    merchant_api.post(ENGAGEMENT, {"events": [share]}, format="json")
    weight = Preference.objects.get(shopper__external_id="fan-1", kind="category", slug="tea").weight
    again = merchant_api.post(ENGAGEMENT, {"events": [share]}, format="json")

    assert weight > 0
    # a redelivered event is a duplicate: it moves no preference a second time
    assert again.json() == {"accepted": 0, "duplicates": 1}
    assert Preference.objects.get(shopper__external_id="fan-1", slug="tea").weight == weight

"""Webhook events from the transaction that caused them to a local receiver: signed,
retried with backoff, failed after a day, the endpoint disabled; never in a transaction."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction

from core.errors import InvariantViolated
from core.models import OutboxMessage
from loyalty.services.memberships import membership_enrol
from loyalty.services.purchases import purchase_record
from members.webhooks import endpoints
from members.webhooks.delivery import webhook_deliver, webhook_fan_out, webhook_resend, webhook_retry_due
from members.webhooks.events import webhook_emit
from members.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.clock import T0
from tests.loyalty.conftest import order_input
from tests.loyalty.factories import ProgramFactory
from tests.members.webhook_receiver import start_receiver
from tests.storefront.factories import ProductFactory

# Delivery refuses to run inside a transaction: these tests commit, as the workers do.
pytestmark = pytest.mark.django_db(transaction=True)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_verify():
    """The receiver's recipe, exactly as docs/webhooks.md shows it."""
    code = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    scope: dict = {}
    exec(compile(code, str(DOCS), "exec"), scope)
    return scope["verify"]


@pytest.fixture
def program(merchant):
    return ProgramFactory(merchant=merchant)


@pytest.fixture
def member(merchant, shopper, program):
    for i in range(3):
        ProductFactory(merchant=merchant, sku=f"S{i}")
    return membership_enrol(shopper=shopper, merchant=merchant).membership


@pytest.fixture
def local(settings):
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def receiver(local):
    started = start_receiver()
    yield started
    started.close()


def register(merchant, url, events=("order.recorded",), secret=None):
    endpoint = endpoints.webhook_endpoint_create(
        merchant=merchant, url=url, events=list(events), secret=secret
    )
    merchant.refresh_from_db()
    return endpoint


def deliver_all(now=None) -> None:
    """What the workers do: fan out every event, then deliver every pending delivery."""
    webhook_fan_out(event_ids=list(WebhookEvent.objects.values_list("pk", flat=True)), now=now)
    webhook_deliver(delivery_ids=list(WebhookDelivery.objects.values_list("pk", flat=True)), now=now)


def test_an_order_is_delivered_signed_and_the_documented_recipe_verifies_it(
    receiver, member, shopper, merchant
):
    # given: an endpoint for orders, with its secret
    endpoint = register(merchant, receiver.url, secret="s" * 32)

    # when: an order is recorded and the workers run
    purchase_record(merchant=merchant, order=order_input(shopper.external_id, "o-1"))
    deliver_all()

    # then: one request, JSON with the event id and type, signed as documented
    (request,) = receiver.requests
    body = json.loads(request.body)
    event = WebhookEvent.objects.get()
    assert (body["id"], body["type"], body["merchant"]) == (
        str(event.event_id),
        "order.recorded",
        merchant.slug,
    )
    assert body["data"]["external_id"] == "o-1" and body["data"]["shopper"] == shopper.external_id
    assert request.headers["Fanbase-Event-Id"] == str(event.event_id)
    verify = documented_verify()
    assert verify("s" * 32, request.headers["Fanbase-Signature"], request.body)
    assert not verify("another secret of 32 characters!", request.headers["Fanbase-Signature"], request.body)
    assert not verify("s" * 32, request.headers["Fanbase-Signature"], request.body + b" ")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)
    assert endpoint.pk == delivery.endpoint_id


def test_the_event_is_written_in_the_orders_transaction_and_only_when_someone_listens(
    local, member, shopper, merchant
):
    purchase_record(merchant=merchant, order=order_input(shopper.external_id, "o-1"))
    assert not WebhookEvent.objects.exists()

    register(merchant, "https://hooks.example.com/orders", events=["refund.recorded"])
    purchase_record(merchant=merchant, order=order_input(shopper.external_id, "o-2"))
    assert not WebhookEvent.objects.exists()

    register(merchant, "https://hooks.example.com/orders")
    purchase_record(merchant=merchant, order=order_input(shopper.external_id, "o-3"))
    assert list(WebhookEvent.objects.values_list("type", flat=True)) == ["order.recorded"]
    assert OutboxMessage.objects.filter(task="members.webhook_fan_out").count() == 1


def test_a_rolled_back_cause_leaves_no_event_and_no_outbox_message(merchant):
    register(merchant, "https://hooks.example.com/orders")
    before = OutboxMessage.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        webhook_emit(merchant=merchant, type="order.recorded", payload={"x": 1})
        raise RuntimeError("the order failed")

    assert not WebhookEvent.objects.exists()
    assert OutboxMessage.objects.count() == before


def test_a_failing_receiver_is_retried_with_backoff_then_failed_after_a_day(receiver, clock, merchant):
    register(merchant, receiver.url)
    webhook_emit(merchant=merchant, type="order.recorded", payload={"n": 1})
    receiver.status = 500

    deliver_all(now=T0)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at == T0 + timedelta(seconds=30)

    # not due yet: nothing is sent
    assert webhook_deliver(delivery_ids=[delivery.pk], now=T0 + timedelta(seconds=10)).skipped == 1
    waits = []
    moment = T0
    for _ in range(4):
        delivery.refresh_from_db()
        moment = delivery.next_attempt_at
        webhook_deliver(delivery_ids=[delivery.pk], now=moment)
        delivery.refresh_from_db()
        waits.append((delivery.next_attempt_at - moment).total_seconds())
    assert waits == [60, 120, 240, 480]
    assert len(receiver.requests) == 5

    # a day after the first attempt, the next failure is final
    webhook_deliver(delivery_ids=[delivery.pk], now=T0 + timedelta(days=1, seconds=1))
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    endpoint = WebhookEndpoint.objects.get()
    assert not endpoint.active
    assert "no delivery succeeded for a day" in endpoint.disabled_reason
    assert "HTTP 500" in endpoint.disabled_reason
    merchant.refresh_from_db()
    assert merchant.webhook_events == []  # a disabled endpoint gets no new events


def test_a_success_clears_the_failing_streak(receiver, merchant):
    register(merchant, receiver.url)
    webhook_emit(merchant=merchant, type="order.recorded", payload={"n": 1})
    receiver.status = 503
    deliver_all(now=T0)
    assert WebhookEndpoint.objects.get().failing_since == T0

    receiver.status = 204
    webhook_deliver(delivery_ids=[WebhookDelivery.objects.get().pk], now=T0 + timedelta(hours=23))

    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.active, endpoint.failing_since) == (True, None)
    assert WebhookDelivery.objects.get().status == "delivered"


def test_a_delivery_claimed_twice_is_sent_once(receiver, merchant):
    register(merchant, receiver.url)
    webhook_emit(merchant=merchant, type="order.recorded", payload={"n": 1})
    deliver_all()

    again = webhook_deliver(delivery_ids=list(WebhookDelivery.objects.values_list("pk", flat=True)))

    assert (again.skipped, len(receiver.requests)) == (1, 1)


def test_the_retry_sweep_and_resend(receiver, merchant):
    register(merchant, receiver.url)
    webhook_emit(merchant=merchant, type="order.recorded", payload={"n": 1})
    receiver.status = 500
    deliver_all(now=T0)

    assert webhook_retry_due(now=T0 + timedelta(seconds=5)) == 0
    assert webhook_retry_due(now=T0 + timedelta(seconds=31)) == 1
    WebhookDelivery.objects.update(status="failed")
    receiver.status = 200
    assert webhook_resend(delivery_ids=list(WebhookDelivery.objects.values_list("pk", flat=True))) == 1
    webhook_deliver(delivery_ids=list(WebhookDelivery.objects.values_list("pk", flat=True)))
    assert WebhookDelivery.objects.get().status == "delivered"


def test_during_a_rotation_both_secrets_sign(receiver, merchant):
    endpoint = register(merchant, receiver.url, secret="old" * 10)
    endpoints.webhook_secret_rotate(endpoint=endpoint, secret="new" * 10)
    webhook_emit(merchant=merchant, type="order.recorded", payload={"n": 1})

    deliver_all()

    verify = documented_verify()
    (request,) = receiver.requests
    header = request.headers["Fanbase-Signature"]
    assert header.count("v1=") == 2
    assert verify("old" * 10, header, request.body) and verify("new" * 10, header, request.body)


def test_after_the_rotation_window_only_the_new_secret_signs(receiver, merchant):
    endpoint = register(merchant, receiver.url, secret="old" * 10)
    endpoints.webhook_secret_rotate(endpoint=endpoint, secret="new" * 10, now=T0 - timedelta(days=2))
    webhook_emit(merchant=merchant, type="order.recorded", payload={"n": 1})

    deliver_all()

    header = receiver.requests[0].headers["Fanbase-Signature"]
    assert header.count("v1=") == 1
    assert not documented_verify()("old" * 10, header, receiver.requests[0].body)


def test_nothing_is_sent_inside_a_database_transaction(merchant):
    # (the delivery's first check, before any claim)
    with pytest.raises(InvariantViolated), transaction.atomic():
        webhook_deliver(delivery_ids=[1])


def test_a_tier_change_is_emitted_from_the_nightly_review(local, clock, merchant, program, member, shopper):
    from loyalty.services.tiers import tier_review
    from tests.members.factories import TierFactory

    TierFactory(merchant=merchant, name="Bronze", rank=1, min_spend_12m=0)
    TierFactory(merchant=merchant, name="Gold", rank=2, min_spend_12m=100)
    register(merchant, "https://hooks.example.com/tiers", events=["tier.changed"])
    purchase_record(
        merchant=merchant,
        order=order_input(
            shopper.external_id, "o-1", lines=[("S0", 20, "10.00")], paid_at=T0 - timedelta(days=340)
        ),
    )
    clock.now = T0 + timedelta(days=31)
    tier_review()

    data = [e.payload for e in WebhookEvent.objects.filter(type="tier.changed").order_by("pk")]
    assert [(d["from_tier"], d["to_tier"], d["reason"]) for d in data] == [
        (None, "Gold", "upgrade"),  # the member joined before the merchant had tiers
        ("Gold", "Bronze", "review"),
    ]
    assert data[-1]["shopper"] == shopper.external_id

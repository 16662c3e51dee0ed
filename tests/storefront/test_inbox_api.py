"""GET /api/v1/me/inbox and POST /api/v1/me/inbox/{id}/open: the shopper's pushed products."""

from datetime import timedelta

import pytest

from storefront.models import InboxMessage, PushRollout
from tests.clock import T0
from tests.conftest import assert_error, row_counts
from tests.storefront.factories import ProductFactory

INBOX = "/api/v1/me/inbox"
# The token, one page of messages with product, merchant and category.
INBOX_QUERIES = 2


def push(shopper, *, delivered_at=T0, product=None) -> InboxMessage:
    product = product or ProductFactory(published_at=T0)
    rollout, _ = PushRollout.objects.get_or_create(
        product=product, defaults={"merchant": product.merchant, "stage_started_at": T0}
    )
    return InboxMessage.objects.create(
        shopper=shopper,
        product=product,
        rollout=rollout,
        stage="iron_fans",
        created_at=T0,
        delivered_at=delivered_at,
    )


def open_url(message) -> str:
    return f"{INBOX}/{message.pk}/open"


def test_the_inbox_lists_delivered_pushes_newest_first(shopper, shopper_api, other_shopper, clock):
    older = push(shopper, delivered_at=T0 - timedelta(hours=2))
    newer = push(shopper, delivered_at=T0 - timedelta(hours=1))
    push(shopper, delivered_at=None)  # deferred by the cap: not in the inbox yet
    push(other_shopper)

    response = shopper_api.get(INBOX)

    assert response.status_code == 200
    body = response.json()
    assert [m["id"] for m in body["results"]] == [newer.pk, older.pk]
    first = body["results"][0]
    assert first["product"]["sku"] == newer.product.sku
    assert first["merchant"]["slug"] == newer.product.merchant.slug
    assert first["opened_at"] is None


def test_the_inbox_pages_in_a_constant_number_of_queries(
    shopper, shopper_api, clock, django_assert_num_queries
):
    for n in range(7):
        push(shopper, delivered_at=T0 - timedelta(minutes=n))

    with django_assert_num_queries(INBOX_QUERIES):
        first = shopper_api.get(INBOX, {"page_size": 3})
    with django_assert_num_queries(INBOX_QUERIES):
        second = shopper_api.get(first.json()["next"])

    assert len(first.json()["results"]) == len(second.json()["results"]) == 3


def test_opening_a_message_marks_it_once_and_counts_for_its_rollout(shopper, shopper_api, clock):
    message = push(shopper)

    first = shopper_api.post(open_url(message))
    clock.now = T0 + timedelta(hours=1)
    again = shopper_api.post(open_url(message))

    assert first.status_code == again.status_code == 200
    assert first.json()["opened_at"] == again.json()["opened_at"] == "2026-03-02T12:00:00Z"
    assert PushRollout.objects.get(pk=message.rollout_id).opened == 1


@pytest.mark.parametrize("whose", ["another shoppers", "deferred", "unknown"])
def test_opening_a_message_that_is_not_in_my_inbox_is_a_404_and_writes_nothing(
    shopper, other_shopper, shopper_api, clock, whose
):
    message = {
        "another shoppers": lambda: push(other_shopper),
        "deferred": lambda: push(shopper, delivered_at=None),
        "unknown": lambda: InboxMessage(pk=987654),
    }[whose]()
    before = row_counts()

    response = shopper_api.post(open_url(message))

    assert_error(response, 404, "inbox_message_not_found")
    assert row_counts() == before
    if message.pk != 987654:
        message.refresh_from_db()
        assert message.opened_at is None


def test_the_inbox_needs_a_shopper_token(api, merchant_api, shopper, clock):
    message = push(shopper)

    assert api.get(INBOX).status_code == 401
    assert merchant_api.get(INBOX).status_code == 401
    assert api.post(open_url(message)).status_code == 401
    message.refresh_from_db()
    assert message.opened_at is None

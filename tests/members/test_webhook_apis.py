"""/api/v1/merchant/webhooks: register, list, delete, rotate, the delivery log; tenancy."""

import pytest

from members.models import Merchant
from members.webhooks.models import WebhookEndpoint
from tests.conftest import assert_error, row_counts
from tests.members.factories import WebhookDeliveryFactory, WebhookEndpointFactory

WEBHOOKS = "/api/v1/merchant/webhooks"
BODY = {"url": "https://hooks.example.com/fanbase", "events": ["order.recorded", "tier.changed"]}


def test_registering_an_endpoint_answers_its_secret_once(merchant_api, merchant):
    response = merchant_api.post(WEBHOOKS, BODY, format="json")

    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert (created["url"], created["events"], created["active"]) == (BODY["url"], BODY["events"], True)
    assert Merchant.objects.get(pk=merchant.pk).webhook_events == ["order.recorded", "tier.changed"]
    listed = merchant_api.get(WEBHOOKS).json()["results"]
    assert [row["id"] for row in listed] == [created["id"]]
    assert "secret" not in listed[0]


def test_a_secret_of_the_merchants_own_is_kept(merchant_api):
    response = merchant_api.post(WEBHOOKS, {**BODY, "secret": "x" * 30}, format="json")

    assert response.json()["secret"] == "x" * 30


@pytest.mark.parametrize(
    ("body", "code", "attr"),
    [
        ({**BODY, "url": "http://hooks.example.com/x"}, "webhook_url_not_allowed", "url"),
        ({**BODY, "url": "https://127.0.0.1/x"}, "webhook_url_not_allowed", "url"),
        ({**BODY, "url": "https://169.254.169.254/x"}, "webhook_url_not_allowed", "url"),
        ({**BODY, "url": "https://localhost/x"}, "webhook_url_not_allowed", "url"),
        ({**BODY, "url": "not a url"}, "webhook_url_not_allowed", "url"),
        ({**BODY, "url": "https://[::1"}, "webhook_url_not_allowed", "url"),
        ({**BODY, "url": "https://hooks.example.com:99999/x"}, "webhook_url_not_allowed", "url"),
        ({**BODY, "events": []}, "min_length", "events"),
        ({**BODY, "events": ["order.exploded"]}, "invalid_choice", "events.0"),
        ({**BODY, "events": "order.recorded"}, "not_a_list", "events"),
        ({**BODY, "secret": "short"}, "min_length", "secret"),
        ({"events": ["order.recorded"]}, "required", "url"),
    ],
)
def test_a_bad_endpoint_is_a_400_and_writes_nothing(merchant_api, body, code, attr):
    before = row_counts()

    response = merchant_api.post(WEBHOOKS, body, format="json")

    assert_error(response, 400, code, attr)
    assert row_counts() == before


def test_more_than_twenty_endpoints_is_a_409(merchant_api, merchant):
    WebhookEndpointFactory.create_batch(20, merchant=merchant)
    before = row_counts()

    response = merchant_api.post(WEBHOOKS, BODY, format="json")

    assert_error(response, 409, "webhook_endpoint_limit_reached")
    assert row_counts() == before


def test_deleting_an_endpoint_stops_its_events(merchant_api, merchant):
    created = merchant_api.post(WEBHOOKS, BODY, format="json").json()

    response = merchant_api.delete(f"{WEBHOOKS}/{created['id']}")

    assert response.status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert Merchant.objects.get(pk=merchant.pk).webhook_events == []


def test_another_merchants_endpoint_is_not_found_and_untouched(merchant_api, other_merchant):
    theirs = WebhookEndpointFactory(merchant=other_merchant)
    WebhookDeliveryFactory(endpoint=theirs)
    before = row_counts()

    assert_error(merchant_api.delete(f"{WEBHOOKS}/{theirs.pk}"), 404, "webhook_endpoint_not_found")
    assert_error(
        merchant_api.post(f"{WEBHOOKS}/{theirs.pk}/rotate-secret"), 404, "webhook_endpoint_not_found"
    )
    assert_error(merchant_api.get(f"{WEBHOOKS}/{theirs.pk}/deliveries"), 404, "webhook_endpoint_not_found")
    assert merchant_api.get(WEBHOOKS).json()["results"] == []
    assert row_counts() == before
    assert WebhookEndpoint.objects.get().secret == theirs.secret


@pytest.mark.parametrize("bad_id", ["0", "abc", "99999999999999999999"])
def test_an_id_that_is_not_one_is_a_404(merchant_api, bad_id):
    assert_error(merchant_api.delete(f"{WEBHOOKS}/{bad_id}"), 404, "webhook_endpoint_not_found")


def test_rotating_the_secret_keeps_the_old_one_for_a_day(merchant_api):
    created = merchant_api.post(WEBHOOKS, BODY, format="json").json()

    rotated = merchant_api.post(f"{WEBHOOKS}/{created['id']}/rotate-secret").json()

    assert rotated["secret"] != created["secret"]
    assert rotated["previous_secret_expires_at"] is not None
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.previous_secret == created["secret"]


def test_the_delivery_log_lists_an_endpoints_deliveries_within_its_budget(
    merchant_api, merchant, django_assert_max_num_queries
):
    endpoint = WebhookEndpointFactory(merchant=merchant)
    WebhookDeliveryFactory.create_batch(5, endpoint=endpoint)

    # the API key, the endpoint, one page of deliveries with their events
    with django_assert_max_num_queries(3):
        rows = merchant_api.get(f"{WEBHOOKS}/{endpoint.pk}/deliveries").json()["results"]

    assert len(rows) == 5
    assert {row["status"] for row in rows} == {"pending"}


def test_the_endpoint_list_keeps_its_budget(merchant_api, merchant, django_assert_max_num_queries):
    WebhookEndpointFactory.create_batch(5, merchant=merchant)

    with django_assert_max_num_queries(2):
        assert len(merchant_api.get(WEBHOOKS).json()["results"]) == 5


def test_a_shopper_token_cannot_reach_webhooks(shopper_api, api):
    assert shopper_api.get(WEBHOOKS).status_code == 401
    assert api.post(WEBHOOKS, BODY, format="json").status_code == 401

"""The inbox builds its answer directly (``inbox_answer``); ``InboxMessageOutput`` is the schema."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from storefront.models import InboxMessage
from storefront.selectors import inbox_list
from storefront.shopper_apis import InboxMessageOutput
from tests.clock import T0
from tests.conftest import assert_error
from tests.storefront.factories import CategoryFactory, ProductFactory
from tests.storefront.test_inbox_api import INBOX, push


def as_json(data):
    return json.loads(json.dumps(data, cls=JSONEncoder))


@pytest.mark.parametrize("zone", ["UTC", "Asia/Taipei"])
def test_each_message_is_what_the_schemas_serializer_makes_of_it(shopper, shopper_api, clock, zone):
    with_category = ProductFactory(
        published_at=T0,
        price=Decimal("89.5"),
        tags=["lipstick", "matte"],
        category=None,
    )
    with_category.category = CategoryFactory(merchant=with_category.merchant, slug="lips")
    with_category.save(update_fields=["category"])
    opened = push(shopper, delivered_at=T0 - timedelta(hours=3), product=with_category)
    opened.opened_at = T0 - timedelta(hours=1)
    opened.save(update_fields=["opened_at"])
    push(shopper, delivered_at=T0 - timedelta(hours=2), product=ProductFactory(published_at=T0, tags=[]))

    with override_settings(TIME_ZONE=zone):
        timezone.activate(zone)
        try:
            rows = shopper_api.get(INBOX).json()["results"]
            expected = InboxMessageOutput(
                inbox_list(shopper=shopper).order_by("-delivered_at", "-id"), many=True
            )
            expected = as_json(expected.data)
        finally:
            timezone.deactivate()

    assert len(rows) == 2
    assert rows == expected
    assert [list(row) for row in rows] == [list(row) for row in expected]  # key order too


def test_pages_with_equal_delivery_times_neither_repeat_nor_skip_and_a_tampered_cursor_is_a_400(
    shopper, shopper_api, clock
):
    same_time = [push(shopper, delivered_at=T0 - timedelta(hours=1)).pk for _ in range(3)]
    later = push(shopper, delivered_at=T0).pk

    first = shopper_api.get(INBOX, {"page_size": 2}).json()
    second = shopper_api.get(first["next"]).json()
    back = shopper_api.get(second["previous"]).json()

    walked = [m["id"] for page in (first, second) for m in page["results"]]
    assert walked == [later, *sorted(same_time, reverse=True)]
    assert second["next"] is None
    assert [m["id"] for m in back["results"]] == [m["id"] for m in first["results"]]
    assert InboxMessage.objects.filter(shopper=shopper).count() == 4
    assert_error(shopper_api.get(INBOX, {"cursor": "forged"}), 400, "invalid_cursor", "cursor")
